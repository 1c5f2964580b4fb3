"""Whole-image grading of a restoration: how much of it to keep, and a smooth colour transform.

The restoration U-Net sees one tile (and, in training, one 128 px crop) at a time, so it cannot
tell a warm-toned print from a yellowed one, judge how far a faded print's black point should
drop, or know that the photo was barely damaged and its texture should stay: that needs the
whole photo. :class:`GradeNet` looks at small thumbnails of the degraded input and of the
U-Net's output plus full-resolution detail statistics (:func:`detail_stats`; all computed once
per image, shared by all tiles) and predicts

- a global blend ``alpha`` (the learned strength: ``input + alpha * (restored - input)``), and
- colour-transform coefficients on a coarse ``grid x grid`` lattice, in the spirit of HDRNet's
  bilateral-grid coefficients (Gharbi et al. 2017, https://arxiv.org/abs/1707.02880) without
  the luminance axis.

:func:`apply_grade` then maps every pixel ``rgb -> (I + A) rgb + b`` of the blend with ``A, b``
bilinearly interpolated from the lattice, chunk by chunk in place, so memory stays that of the
image.

Example:
    >>> net = GradeNet(width=8, grid=2, thumb=32)
    >>> coeffs = net(torch.rand(1, 6, 32, 32), torch.rand(1, DETAIL_STATS)).detach()
    >>> coeffs.shape, float(coeffs.abs().max())  # starts as the identity transform
    (torch.Size([1, 13, 2, 2]), 0.0)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nn.blocks import ConvAct

__all__ = [
    "COEFFS", "DETAIL_STATS", "GradeNet", "apply_grade", "blend_alpha", "coefficients_at",
    "detail_stats", "grade_pixels", "thumbnail",
]  # fmt: skip

# per lattice cell: a 3x3 matrix (added to the identity), row-major, a 3-vector offset, then
# 1 - alpha (the same in every cell: the blend is global)
COEFFS = 13
DETAIL_STATS = 9  # per channel: high-pass energy of input and restored, mean |input - restored|
_QUANTILES = (0.02, 0.25, 0.5, 0.75, 0.98)


def thumbnail(image: torch.Tensor, size: int) -> torch.Tensor:
    """Antialiased ``size`` x ``size`` thumbnail of ``(B,C,H,W)`` or ``(C,H,W)`` (aspect not kept).

    Large images are first box-averaged by an integer factor, so the cost stays one pass over
    the pixels and no full-size temporary is made.

    Returns:
        ``(B,C,size,size)`` float32.
    """
    batched = (image if image.ndim == 4 else image[None]).float()
    h, w = batched.shape[-2:]
    factor = min(h, w) // (4 * size)
    if factor >= 2:
        batched = F.avg_pool2d(batched, factor, ceil_mode=True)
    return F.interpolate(batched, size=(size, size), mode="bilinear", antialias=True)


def _high_pass(x: torch.Tensor) -> torch.Tensor:
    """``x`` minus its 3x3 box mean (``(B,C,H,W)``)."""
    return x - F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def detail_stats(
    image: torch.Tensor, restored: torch.Tensor, *, chunk_pixels: int = 1 << 20
) -> torch.Tensor:
    """What the thumbnails cannot show: noise, texture, how much the restorer changed.

    Per channel, at full resolution: mean absolute 3x3 high-pass of the input and of the
    restored image, and the mean absolute difference between them, as ``log(1e-4 + value)``.
    Computed in row chunks (borders of a chunk are treated as image borders), so no full-size
    temporary is made.

    Args:
        image: ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0,1], the degraded input.
        restored: the same shape, the restorer's output.
        chunk_pixels: about how many pixels are processed at once.

    Returns:
        ``(B, 9)`` float32.
    """
    x = image if image.ndim == 4 else image[None]
    r = restored if restored.ndim == 4 else restored[None]
    h, w = x.shape[-2:]
    step = max(2, chunk_pixels // max(w, 1))
    sums = torch.zeros(x.shape[0], DETAIL_STATS, dtype=torch.float64)
    for top in range(0, h, step):
        xs, rs = x[:, :, top : top + step].float(), r[:, :, top : top + step].float()
        parts = [_high_pass(xs).abs(), _high_pass(rs).abs(), (xs - rs).abs()]
        sums += torch.cat([p.sum((-2, -1)) for p in parts], dim=1).double().cpu()
    return torch.log(1e-4 + sums / (h * w)).float()


def _statistics(thumbs: torch.Tensor) -> torch.Tensor:
    """Per-channel mean, std and quantiles of ``(B,C,S,S)`` thumbnails: ``(B, C*7)``."""
    flat = thumbs.flatten(2)
    quantiles = torch.quantile(flat, torch.tensor(_QUANTILES, dtype=flat.dtype), dim=-1)
    parts = [flat.mean(-1), flat.std(-1), *quantiles.unbind(0)]
    return torch.cat(parts, dim=1)


class GradeNet(nn.Module):
    """Thumbnails ``(B,6,T,T)`` (input, restored) + details ``(B,9)`` -> ``(B,13,grid,grid)``.

    Thumbnails are in [0, 1]; details come from :func:`detail_stats`. A small strided CNN
    (4 stride-2 convs), per-channel thumbnail statistics (mean, std, five quantiles) and the
    detail statistics give a global descriptor; it sets the blend, and with the CNN's features
    pooled to the ``grid`` lattice each cell's colour coefficients. The last layers start at
    zero, so an untrained net is the identity (alpha 1, no colour change).

    Args:
        width: channels of the first conv (then 2x, 4x, 4x).
        grid: lattice side; 1 = one global affine transform per image.
        thumb: thumbnail side the net expects (a multiple of 16).
    """

    def __init__(self, *, width: int = 32, grid: int = 4, thumb: int = 96) -> None:
        super().__init__()
        if grid < 1 or thumb % 16 or thumb < 16 * grid:
            raise ValueError(f"need grid >= 1, thumb a multiple of 16 >= 16*grid: {grid}, {thumb}")
        self.grid, self.thumb = grid, thumb
        chans = [6, width, 2 * width, 4 * width, 4 * width]
        self.features = nn.Sequential(
            *(ConvAct(chans[i], chans[i + 1], stride=2) for i in range(4))
        )
        stats = 6 * (2 + len(_QUANTILES)) + DETAIL_STATS
        self.globals = nn.Sequential(
            nn.Linear(chans[-1] + stats, chans[-1]), nn.LeakyReLU(0.2, inplace=True)
        )
        self.local = ConvAct(2 * chans[-1], chans[-1], kernel=1)
        self.head = nn.Conv2d(chans[-1], COEFFS - 1, 1)
        self.blend = nn.Linear(chans[-1], 1)
        for layer in (self.head, self.blend):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, thumbs: torch.Tensor, details: torch.Tensor) -> torch.Tensor:
        """Coefficients ``(B,13,grid,grid)``; see the class docstring."""
        feats = self.features(thumbs * 2.0 - 1.0)
        stats = [feats.mean((-2, -1)), _statistics(thumbs), details.to(feats.dtype)]
        glob = self.globals(torch.cat(stats, dim=1))
        cells = F.adaptive_avg_pool2d(feats, self.grid)
        colour = self.head(
            self.local(torch.cat([cells, glob[..., None, None].expand_as(cells)], 1))
        )
        keep = self.blend(glob)[..., None, None].expand(-1, 1, self.grid, self.grid)
        return torch.cat([colour, keep], dim=1)


def blend_alpha(coeffs: torch.Tensor) -> torch.Tensor:
    """The blend ``alpha`` in [0, 1.25] from coefficient channel 12 (``1 - alpha``)."""
    return (1.0 - coeffs[:, 12:13]).clamp(0.0, 1.25)


def coefficients_at(coeffs: torch.Tensor, rows: slice, height: int, width: int) -> torch.Tensor:
    """Bilinear upsampling of ``(B,12,g,g)`` to the pixel rows ``rows`` of an HxW image."""
    b = coeffs.shape[0]
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)
    grid = grid.to(coeffs.device)[None].expand(b, -1, -1, -1)
    return F.grid_sample(coeffs, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grade_pixels(
    restored: torch.Tensor, source: torch.Tensor, coeffs: torch.Tensor
) -> torch.Tensor:
    """``(I + A)(source + alpha (restored - source)) + b``, clamped; out of place, any batch.

    ``coeffs`` must already be at the pixels' resolution: ``(B,13,H,W)``.
    """
    blended = source + blend_alpha(coeffs) * (restored - source)
    matrix = coeffs[:, :9].unflatten(1, (3, 3))
    return (blended + torch.einsum("bijhw,bjhw->bihw", matrix, blended) + coeffs[:, 9:12]).clamp(
        0.0, 1.0
    )


def apply_grade(
    image: torch.Tensor,
    coeffs: torch.Tensor,
    source: torch.Tensor | None = None,
    *,
    chunk_pixels: int = 1 << 20,
) -> torch.Tensor:
    """Grade ``image`` (the restored photo) in place and clamp to [0, 1].

    Args:
        image: ``(3,H,W)`` or ``(B,3,H,W)`` float32, modified in place.
        coeffs: ``(B,13,g,g)`` (or ``(1,13,g,g)`` for a 3-D image) from :class:`GradeNet`.
        source: the degraded input, same shape as ``image``, for the blend; ``None`` means
            alpha is ignored (only the colour transform is applied).
        chunk_pixels: about how many pixels are transformed at once (bounds the temporaries).

    Returns:
        ``image`` (the same tensor).
    """
    images = image if image.ndim == 4 else image[None]
    if images.shape[0] != coeffs.shape[0] or images.shape[1] != 3:
        raise ValueError(f"image {tuple(image.shape)} does not fit coeffs {tuple(coeffs.shape)}")
    sources = None if source is None else (source if source.ndim == 4 else source[None])
    h, w = images.shape[-2:]
    step = max(1, chunk_pixels // max(w, 1))
    coeffs = coeffs.float()
    for top in range(0, h, step):
        rows = slice(top, min(h, top + step))
        c = coefficients_at(coeffs, rows, h, w)  # (B,13,r,W)
        block = images[:, :, rows]
        if sources is None:
            c[:, 12] = 0.0  # alpha 1: the blend needs the source
            block.copy_(grade_pixels(block, block, c))
        else:
            block.copy_(grade_pixels(block, sources[:, :, rows].to(block), c))
    return image
