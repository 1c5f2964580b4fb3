"""Geometric self-ensemble: run a model on flipped and transposed copies, undo, average.

A fully convolutional restorer is not exactly equivariant to flips and transposes, so the
average of its outputs over the eight symmetries of the square (the dihedral group) is a
little closer to the truth than any one of them, at ``size`` times the cost. The first
``size`` of :data:`SYMMETRIES` are used: 2 adds the left-right flip, 4 both flips, 8 the
transposed versions too.

Example:
    >>> import torch
    >>> x = torch.rand(1, 3, 5, 7)
    >>> torch.allclose(ensemble(lambda t: t * 2, x, 8), x * 2)
    True
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

# (transpose H and W, dims to flip), applied in that order; undone in reverse.
SYMMETRIES: tuple[tuple[bool, tuple[int, ...]], ...] = (
    (False, ()),
    (False, (-1,)),
    (False, (-2,)),
    (False, (-2, -1)),
    (True, ()),
    (True, (-1,)),
    (True, (-2,)),
    (True, (-2, -1)),
)
ENSEMBLE_SIZES = (1, 2, 4, 8)


def apply_symmetry(x: Tensor, index: int) -> Tensor:
    """Symmetry ``index`` of :data:`SYMMETRIES` applied to the last two dims of ``x``."""
    transpose, dims = SYMMETRIES[index]
    if transpose:
        x = x.transpose(-2, -1)
    return x.flip(dims) if dims else x


def undo_symmetry(x: Tensor, index: int) -> Tensor:
    """The inverse of :func:`apply_symmetry`: ``undo_symmetry(apply_symmetry(x, i), i) == x``."""
    transpose, dims = SYMMETRIES[index]
    if dims:
        x = x.flip(dims)
    return x.transpose(-2, -1) if transpose else x


def ensemble(run: Callable[[Tensor], Tensor], x: Tensor, size: int) -> Tensor:
    """Mean of ``undo(run(apply(x, i)), i)`` over the first ``size`` symmetries.

    Args:
        run: maps ``(..., C, H, W)`` to ``(..., C', H, W)`` (same spatial size), e.g. a
            tiled model run; it sees transposed inputs (``H`` and ``W`` swapped) when
            ``size`` is 8.
        x: ``(..., C, H, W)`` float tensor.
        size: 1, 2, 4 or 8 (1 is ``run(x)`` itself).

    Returns:
        ``run``'s output shape, float32 when ``run`` gives float32. Memory: one accumulator
        and one transformed copy of ``x`` besides what ``run`` uses.

    Raises:
        ValueError: ``size`` not in :data:`ENSEMBLE_SIZES`.
    """
    if size not in ENSEMBLE_SIZES:
        raise ValueError(f"ensemble size must be one of {ENSEMBLE_SIZES}, got {size}")
    total = run(x)
    if size > 1 and total.data_ptr() == x.data_ptr():  # never accumulate into the input
        total = total.clone()
    for index in range(1, size):
        total.add_(undo_symmetry(run(apply_symmetry(x, index)), index))
    return total.div_(size) if size > 1 else total


__all__ = ["ENSEMBLE_SIZES", "SYMMETRIES", "apply_symmetry", "ensemble", "undo_symmetry"]
