"""Learning-rate schedule: constant, then linear decay to zero (pix2pix's 'linear' policy)."""

from __future__ import annotations


def linear_decay(step: int, total: int, decay_start: float) -> float:
    """LR multiplier at ``step``: 1 until ``decay_start * total``, then linearly to 0.

    Example:
        >>> [round(linear_decay(s, 10, 0.5), 2) for s in (0, 5, 7, 10)]
        [1.0, 1.0, 0.6, 0.0]
    """
    start = int(decay_start * total)
    if step < start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / max(1, total - start))
