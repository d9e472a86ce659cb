"""Benchmark scripts of vae_core: ``python -m benchmarks <name> [args]`` from the repository root.

Each benchmark is a module ``benchmarks/<name>.py`` with a ``main(argv)`` function. Speed and
memory targets (``docs/design.md``, "Profiles and targets") are checked here, never by timed
tests; the README's Benchmarks section quotes the printed output. Numbers measured once and
reused by a script (the profile projection, the stack projection's defaults) are read from
``benchmarks/measured.json``, each with what was measured, the command, the date and the machine.

This folder sits outside the ``vae_core`` package and is not installed with it: run it from a
checkout. It imports only public names of ``vae_core``.
"""
