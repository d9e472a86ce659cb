"""Training-step schedules as small pure functions (``docs/design.md``, "Models"); ``step`` =
global training iteration."""

from __future__ import annotations


def capacity(step: int, c_max: float = 25.0, c_stop: int = 10_000) -> float:
    """Burgess et al. (2018) capacity C(t) = min(C_max, C_max * t / C_stop), in nats.

    ``step`` is the global number of training iterations done so far (t >= 0).
    """
    if c_stop <= 0:
        raise ValueError(f"c_stop must be a positive number of iterations, got {c_stop!r}.")
    return float(min(c_max, c_max * max(int(step), 0) / c_stop))


def dimkl_weight(step: int, anneal_steps: int = 10_000, training: bool = True) -> float:
    """beta-TCVAE warm-up w(t) = min(1, t / anneal_steps) while training; 1 when evaluating.

    Chen et al. (2018) anneal the dimension-wise KL weight over the first iterations.
    """
    if not training:
        return 1.0
    if anneal_steps <= 0:
        return 1.0
    return float(min(1.0, max(int(step), 0) / anneal_steps))
