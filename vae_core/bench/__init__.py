"""Benchmark scripts: ``python -m vae_core.bench <name> [args]``.

Each benchmark is a module ``vae_core/bench/<name>.py`` with a ``main(argv)`` function. Speed and
memory targets are checked here (never by timed tests); quote the printed output.
"""
