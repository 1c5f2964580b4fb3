"""Whole-image colour grading: a smooth per-pixel affine colour transform from thumbnails.

The restoration U-Net sees one tile (and, in training, one 128 px crop) at a time, so it cannot
tell a warm-toned print from a yellowed one or judge how far a faded print's black point
should drop: that needs the whole photo. :class:`GradeNet` looks at small thumbnails of the
degraded input and of the U-Net's output (statistics computed once per image, shared by all
tiles) and predicts colour-transform coefficients on a coarse ``grid x grid`` lattice, in the
spirit of HDRNet's bilateral-grid coefficients (Gharbi et al. 2017,
https://arxiv.org/abs/1707.02880) without the luminance axis. :func:`apply_grade` then maps
every pixel ``rgb -> (I + A) rgb + b`` with ``A, b`` bilinearly interpolated from the lattice,
chunk by chunk in place, so memory stays that of the image.

Example:
    >>> net = GradeNet(width=8, grid=2, thumb=32)
    >>> coeffs = net(torch.rand(1, 6, 32, 32))
    >>> coeffs.shape, float(coeffs.abs().max())  # starts as the identity transform
    (torch.Size([1, 12, 2, 2]), 0.0)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.nn.blocks import ConvAct

__all__ = ["COEFFS", "GradeNet", "apply_grade", "thumbnail"]

COEFFS = 12  # a 3x3 matrix (added to the identity), row-major, then a 3-vector offset
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


def _statistics(thumbs: torch.Tensor) -> torch.Tensor:
    """Per-channel mean, std and quantiles of ``(B,C,S,S)`` thumbnails: ``(B, C*7)``."""
    flat = thumbs.flatten(2)
    quantiles = torch.quantile(flat, torch.tensor(_QUANTILES, dtype=flat.dtype), dim=-1)
    parts = [flat.mean(-1), flat.std(-1), *quantiles.unbind(0)]
    return torch.cat(parts, dim=1)


class GradeNet(nn.Module):
    """Thumbnails ``(B,6,thumb,thumb)`` (input, restored; [0,1]) -> ``(B,12,grid,grid)``.

    A small strided CNN (4 stride-2 convs) plus per-channel statistics (mean, std, five
    quantiles) give a global descriptor; the CNN's features pooled to the ``grid`` lattice plus
    the descriptor give each cell's coefficients. The last layer starts at zero, so an untrained
    net is the identity transform.

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
        stats = 6 * (2 + len(_QUANTILES))
        self.globals = nn.Sequential(
            nn.Linear(chans[-1] + stats, chans[-1]), nn.LeakyReLU(0.2, inplace=True)
        )
        self.local = ConvAct(2 * chans[-1], chans[-1], kernel=1)
        self.head = nn.Conv2d(chans[-1], COEFFS, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, thumbs: torch.Tensor) -> torch.Tensor:
        """Coefficients ``(B,12,grid,grid)``; see the class docstring."""
        feats = self.features(thumbs * 2.0 - 1.0)
        descriptor = torch.cat([feats.mean((-2, -1)), _statistics(thumbs)], dim=1)
        glob = self.globals(descriptor)[..., None, None]
        cells = F.adaptive_avg_pool2d(feats, self.grid)
        return self.head(self.local(torch.cat([cells, glob.expand_as(cells)], dim=1)))


def _chunk_coefficients(coeffs: torch.Tensor, rows: slice, height: int, width: int) -> torch.Tensor:
    """Bilinear upsampling of ``(B,12,g,g)`` to the pixel rows ``rows`` of an HxW image."""
    b = coeffs.shape[0]
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)
    grid = grid.to(coeffs.device)[None].expand(b, -1, -1, -1)
    return F.grid_sample(coeffs, grid, mode="bilinear", padding_mode="border", align_corners=False)


def apply_grade(
    image: torch.Tensor, coeffs: torch.Tensor, *, chunk_pixels: int = 1 << 20
) -> torch.Tensor:
    """Apply ``rgb -> (I + A) rgb + b`` per pixel, in place, and clamp to [0, 1].

    Args:
        image: ``(3,H,W)`` or ``(B,3,H,W)`` float32, modified in place.
        coeffs: ``(B,12,g,g)`` (or ``(1,12,g,g)`` for a 3-D image) from :class:`GradeNet`.
        chunk_pixels: about how many pixels are transformed at once (bounds the temporaries).

    Returns:
        ``image`` (the same tensor).
    """
    images = image if image.ndim == 4 else image[None]
    if images.shape[0] != coeffs.shape[0] or images.shape[1] != 3:
        raise ValueError(f"image {tuple(image.shape)} does not fit coeffs {tuple(coeffs.shape)}")
    h, w = images.shape[-2:]
    step = max(1, chunk_pixels // max(w, 1))
    coeffs = coeffs.float()
    for top in range(0, h, step):
        rows = slice(top, min(h, top + step))
        c = _chunk_coefficients(coeffs, rows, h, w)  # (B,12,r,W)
        block = images[:, :, rows]
        matrix = c[:, :9].unflatten(1, (3, 3))
        graded = block + torch.einsum("bijhw,bjhw->bihw", matrix, block) + c[:, 9:]
        block.copy_(graded.clamp_(0.0, 1.0))
    return image
