"""Tile planning and feathered blend weights: pure functions, no model, no state.

A plan covers an ``H x W`` image with equally sized tiles of ``min(tile, H) x min(tile, W)``
pixels. Neighbours share at least ``overlap`` pixels; the last tile of a row or column is
shifted inward (so it overlaps its neighbour more) instead of shrinking, which keeps every
tile the same size and lets tiles be batched.

Blend weights are separable ramps across each *actual* overlap with a neighbour: nearly 0
(but > 0) in the quarter of the overlap next to the tile's own edge, where the model saw
padding instead of real context, a raised cosine across the middle half, and 1 beyond. On the
usual plan (no pixel covered by three tiles along one axis) the weights of all tiles sum to
exactly 1 at every pixel, so ``sum(w * tile) / sum(w)`` blends seamlessly; elsewhere the sum
is still >= 1/16. Sides on the image border get no ramp: weights stay 1 there. For exact
results with a model of receptive-field radius ``r``, use ``overlap >= 4 * r``; smaller
overlaps still blend smoothly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from daguerre.errors import ConfigError
from daguerre.types import Tensor

__all__ = ["Tile", "TileConfig", "blend_weights", "pad_to_min", "plan_tiles"]


# --- data types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """A source window ``[y0, y1) x [x0, x1)`` in pixels, overlap included.

    Example:
        >>> t = Tile(0, 8, 16, 24)
        >>> (t.height, t.width)
        (16, 16)
        >>> t.scaled(2)
        Tile(y0=0, x0=16, y1=32, x1=48)
    """

    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def height(self) -> int:
        """Rows in the window."""
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        """Columns in the window."""
        return self.x1 - self.x0

    def scaled(self, scale: int) -> Tile:
        """The same window in an image ``scale`` times larger (e.g. a super-resolution output)."""
        return Tile(self.y0 * scale, self.x0 * scale, self.y1 * scale, self.x1 * scale)


@dataclass(frozen=True)
class TileConfig:
    """How to tile an image for inference.

    Args:
        tile: tile side in pixels before padding; 0 = one tile covering the whole image.
        overlap: minimum pixels shared by neighbouring tiles; blended, never cropped. About
            2x the model's receptive-field radius hides tile borders; 4x makes tiling exact.
        min_tile: the out-of-memory backoff halves the tile down to this side, then raises
            :class:`~daguerre.errors.TileOOMError`. Must exceed ``overlap``.
        batch: tiles per forward pass (all tiles have the same size, so they stack).

    Raises:
        ConfigError: on negative sizes, ``overlap >= tile`` or ``min_tile <= overlap``.

    Example:
        >>> TileConfig(tile=256, overlap=16).batch
        1
    """

    tile: int = 512
    overlap: int = 32
    min_tile: int = 128
    batch: int = 1

    def __post_init__(self) -> None:
        if self.tile < 0:
            raise ConfigError(f"tile must be >= 0 (0 = whole image), got {self.tile}")
        if self.overlap < 0:
            raise ConfigError(f"overlap must be >= 0, got {self.overlap}")
        if self.tile > 0 and self.overlap >= self.tile:
            raise ConfigError(f"overlap ({self.overlap}) must be smaller than tile ({self.tile})")
        if self.min_tile <= self.overlap:
            raise ConfigError(
                f"min_tile ({self.min_tile}) must be larger than overlap ({self.overlap}), "
                "or the out-of-memory backoff could produce an invalid plan"
            )
        if self.batch < 1:
            raise ConfigError(f"batch must be >= 1, got {self.batch}")


# --- planning -----------------------------------------------------------------------------


def _check_plan_args(h: int, w: int, tile: int, overlap: int) -> None:
    if h < 1 or w < 1:
        raise ValueError(f"image size must be at least 1x1, got {h}x{w}")
    if tile < 0:
        raise ValueError(f"tile must be >= 0 (0 = whole image), got {tile}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    if tile > 0 and overlap >= tile:
        raise ValueError(f"overlap ({overlap}) must be smaller than tile ({tile})")


def _axis_starts(length: int, size: int, overlap: int) -> list[int]:
    """Start offsets of windows of ``size`` covering ``[0, length)`` with >= ``overlap`` shared.

    Windows step by ``size - overlap``; the last one is shifted inward to end at ``length``.
    """
    if size >= length:
        return [0]
    if not 0 <= overlap < size:
        raise ValueError(f"overlap ({overlap}) must be in [0, {size}) for windows of {size} px")
    stride = size - overlap
    count = math.ceil((length - size) / stride) + 1
    return [i * stride for i in range(count - 1)] + [length - size]


def _tile_size(length: int, tile: int, overlap: int, multiple: int = 1) -> int:
    """The smallest window side <= ``tile`` (a ``multiple``) covering ``length`` with as few.

    Full ``tile`` windows leave the last one shifted far inward (a 1155 px side with 256 px
    tiles and 32 px overlap needs 6 windows, the last almost all overlap); shrinking all of
    them to fit (220 px) computes the same number of windows on ~14 % fewer pixels. Sizes are
    rounded up to ``multiple`` so that, with an overlap that is a multiple too, windows start
    on the network's stride grid: a strided network then computes in every tile what it
    computes on the whole image (shifted by a non-multiple, it would not: visible seams).
    """
    if tile == 0 or tile >= length:
        return length
    count = math.ceil((length - overlap) / (tile - overlap))
    fitted = math.ceil((length - overlap) / count) + overlap
    return min(tile, math.ceil(fitted / multiple) * multiple)


def plan_tiles(h: int, w: int, *, tile: int, overlap: int, multiple: int = 1) -> list[Tile]:
    """Cover an ``h x w`` image with equally sized, overlapping tiles, row by row.

    Args:
        h: image height in pixels, >= 1.
        w: image width in pixels, >= 1.
        tile: the largest tile side in pixels; 0 = a single tile covering the whole image.
            Along each axis the tiles are shrunk to the smallest side that needs no more
            of them (``min(tile, h)`` when one suffices), so little is computed twice.
        multiple: tile sides are multiples of this where they can be (the model's pad
            multiple, i.e. its total stride; see :func:`_tile_size`).
        overlap: minimum pixels shared by neighbours, ``0 <= overlap < tile``. Edge tiles are
            shifted inward, so their overlap can be larger.

    Returns:
        Tiles in row-major order; together they cover every pixel, each lies inside the image.

    Raises:
        ValueError: on an empty image, a negative size or ``overlap >= tile``.

    Example:
        >>> [(t.y0, t.x0, t.y1, t.x1) for t in plan_tiles(10, 20, tile=10, overlap=2)]
        [(0, 0, 10, 8), (0, 6, 10, 14), (0, 12, 10, 20)]
    """
    _check_plan_args(h, w, tile, overlap)
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    th, tw = _tile_size(h, tile, overlap, multiple), _tile_size(w, tile, overlap, multiple)
    return [
        Tile(y0, x0, y0 + th, x0 + tw)
        for y0 in _axis_starts(h, th, overlap)
        for x0 in _axis_starts(w, tw, overlap)
    ]


# --- blending -----------------------------------------------------------------------------


# Each tile's outer quarter of an overlap lies within a few pixels of the tile edge, where its
# prediction lacks context (padding instead of real neighbours), so it gets almost no weight: the
# raised cosine runs across the middle half only. The floor keeps every weight strictly > 0.
_EDGE_FRACTION = 0.25
_WEIGHT_FLOOR = 1e-4


def _ramp(length: int) -> Tensor:
    """Ramp ``(length,)`` float64 rising across a shared strip, strictly inside (0, 1).

    ``ramp(n)[i] + ramp(n)[n - 1 - i] == 1``, so a rising and a falling ramp over the same
    overlap sum to one (a partition of unity).
    """
    position = (torch.arange(length, dtype=torch.float64) + 0.5) / length
    middle = ((position - _EDGE_FRACTION) / (1 - 2 * _EDGE_FRACTION)).clamp(0.0, 1.0)
    cosine = 0.5 - 0.5 * torch.cos(math.pi * middle)
    return _WEIGHT_FLOOR + (1 - 2 * _WEIGHT_FLOOR) * cosine


def _axis_weights(start: int, size: int, length: int, overlap: int) -> Tensor:
    """1-D weights ``(size,)`` float64 for the window at ``start`` along one axis."""
    starts = _axis_starts(length, size, overlap)
    if start not in starts:
        raise ValueError(
            f"window start {start} (size {size}) is not in the plan for length {length}, "
            f"overlap {overlap}: {starts}; pass a tile from plan_tiles with the same arguments"
        )
    index = starts.index(start)
    weights = torch.ones(size, dtype=torch.float64)
    if index > 0:  # a neighbour before: ramp up across the shared pixels
        shared = starts[index - 1] + size - start
        weights[:shared] *= _ramp(shared)
    if index < len(starts) - 1:  # a neighbour after: ramp down across the shared pixels
        shared = start + size - starts[index + 1]
        weights[size - shared :] *= _ramp(shared).flip(0)
    return weights


def blend_weights(tile: Tile, h: int, w: int, *, overlap: int) -> Tensor:
    """Feathering weights of one tile of ``plan_tiles(h, w, tile=..., overlap=overlap)``.

    The plan's neighbours are recomputed from the tile's size, so ``tile`` must come from a
    plan with the same ``h``, ``w`` and ``overlap``.

    Args:
        tile: a tile of the plan.
        h: image height in pixels.
        w: image width in pixels.
        overlap: the ``overlap`` the plan was made with.

    Returns:
        ``(1, 1, tile.height, tile.width)`` float32 weights in (0, 1]: a ramp (see the module
        docstring) across the pixels shared with each neighbour, 1 elsewhere and along the
        image border.
        Over a plan the weights sum to 1 wherever at most two tiles overlap along each axis.

    Raises:
        ValueError: if the tile does not belong to such a plan.

    Example:
        >>> tiles = plan_tiles(8, 12, tile=8, overlap=4)
        >>> weights = blend_weights(tiles[0], 8, 12, overlap=4)
        >>> weights.shape, bool((weights > 0).all()), weights[0, 0, 0, 0].item()
        (torch.Size([1, 1, 8, 8]), True, 1.0)
    """
    if not (0 <= tile.y0 < tile.y1 <= h and 0 <= tile.x0 < tile.x1 <= w):
        raise ValueError(f"{tile} does not lie inside a {h}x{w} image")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    wy = _axis_weights(tile.y0, tile.height, h, overlap)
    wx = _axis_weights(tile.x0, tile.width, w, overlap)
    return torch.outer(wy, wx).to(torch.float32)[None, None]


def pad_to_min(x: Tensor, side: int) -> Tensor:
    """Replicate-pad the bottom/right of ``(...,C,H,W)`` so both sides are >= ``side``.

    The deepest level of a U-Net needs at least 2 pixels for its reflection padding, so the
    pipelines pad a strip or a tiny photo to ``2 * pad_multiple`` and crop the result back.

    Example:
        >>> tuple(pad_to_min(torch.rand(3, 5, 40), 16).shape)
        (3, 16, 40)
    """
    pad_h, pad_w = max(0, side - x.shape[-2]), max(0, side - x.shape[-1])
    if pad_h == 0 and pad_w == 0:
        return x
    batched = x if x.ndim == 4 else x[None]
    out = torch.nn.functional.pad(batched, (0, pad_w, 0, pad_h), mode="replicate")
    return out if x.ndim == 4 else out[0]
