"""Shared procedural helpers for the old-photo effects: noise fields, strokes and blobs.

Everything here is deterministic given a :class:`Draw` (a thin wrapper over a seeded CPU
``torch.Generator``), so an op can rebuild the same field from the ``seed`` stored in its params.

* Noise fields (torch, CPU): :func:`smooth_noise` (bicubic-upsampled lattice noise with a
  correlation length of ``scale`` pixels), :func:`fractal_noise` (octaves of it),
  :func:`filtered_noise` (Gaussian-filtered white noise, for grain and paper).
* Rasterisation (numpy + cv2, 2x supersampled, anti-aliased): :func:`render_strokes` draws
  variable-width, variable-opacity polylines; :func:`render_blobs` draws irregular filled blobs.
  Both return an ``(H, W)`` float32 alpha in [0, 1] with soft edges.
* Geometry: :func:`bezier`, :func:`smooth_curve` (1-D smooth noise for width/opacity profiles).
* Broadcasting: :func:`per_image` turns a ``(B,)`` params field into ``(B,1,1,1)`` on a device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from daguerre.degrade.base import generator_for
from daguerre.types import Tensor

# --- randomness inside apply() --------------------------------------------------------------


class Draw:
    """Seeded random draws as numpy arrays, backed by a CPU ``torch.Generator``.

    Args:
        seed: the per-image seed from a params dataclass (int or 0-d int tensor).

    Example:
        >>> Draw(3).uniform(0.0, 1.0, 2).shape
        (2,)
    """

    def __init__(self, seed: int | Tensor) -> None:
        self.gen = generator_for(seed)

    def uniform(self, low: float, high: float, size: int | tuple[int, ...] = ()) -> np.ndarray:
        """Float64 array uniform in [low, high) (a 0-d array when ``size`` is ``()``)."""
        shape = (size,) if isinstance(size, int) else size
        return (
            low + (high - low) * torch.rand(shape, generator=self.gen, dtype=torch.float64).numpy()
        )

    def normal(self, size: int | tuple[int, ...] = ()) -> np.ndarray:
        """Float64 standard normal array."""
        shape = (size,) if isinstance(size, int) else size
        return torch.randn(shape, generator=self.gen, dtype=torch.float64).numpy()

    def integers(self, low: int, high: int, size: int | tuple[int, ...] = ()) -> np.ndarray:
        """Int64 array uniform in [low, high] (inclusive)."""
        shape = (size,) if isinstance(size, int) else size
        return torch.randint(low, high + 1, shape, generator=self.gen).numpy()

    def scalar(self, low: float, high: float) -> float:
        """One float uniform in [low, high)."""
        return float(self.uniform(low, high))

    def pareto(self, low: float, alpha: float, high: float, size: int) -> np.ndarray:
        """Heavy-tailed sizes: Pareto with minimum ``low`` and tail index ``alpha``, capped."""
        u = self.uniform(1e-6, 1.0, size)
        return np.minimum(low * u ** (-1.0 / alpha), high)


def per_image(values: Tensor, img: Tensor) -> Tensor:
    """A ``(B,)`` params field as float32 ``(B,1,1,1)`` on ``img``'s device."""
    return values.to(device=img.device, dtype=torch.float32).view(-1, 1, 1, 1)


def luminance(img: Tensor) -> Tensor:
    """Rec. 601 luma of ``(B,3,H,W)`` -> ``(B,1,H,W)``."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=img.device, dtype=img.dtype)
    return (img * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


# --- noise fields ---------------------------------------------------------------------------


def smooth_noise(draw: Draw, height: int, width: int, *, scale: float) -> Tensor:
    """Smooth noise with a correlation length of about ``scale`` pixels.

    Args:
        draw: source of randomness.
        height: output height in pixels.
        width: output width in pixels.
        scale: feature size in pixels (> 0); a coarse lattice with this spacing is upsampled.

    Returns:
        ``(1, 1, H, W)`` float32 on CPU, zero mean and unit std over the image (approximately).

    Example:
        >>> smooth_noise(Draw(0), 16, 24, scale=8.0).shape
        torch.Size([1, 1, 16, 24])
    """
    scale = max(float(scale), 1.0)
    grid_h = int(math.ceil(height / scale)) + 4
    grid_w = int(math.ceil(width / scale)) + 4
    lattice = torch.randn(grid_h, grid_w, generator=draw.gen, dtype=torch.float32)
    phase = torch.rand(2, generator=draw.gen)  # random sub-lattice phase per axis
    rows = _bspline_resample(lattice, height, scale, float(phase[0]))  # (H, grid_w)
    field = _bspline_resample(rows.t(), width, scale, float(phase[1])).t()  # (H, W)
    return _standardise(field.view(1, 1, height, width))


def _bspline_resample(lattice: Tensor, length: int, scale: float, phase: float) -> Tensor:
    """Cubic B-spline interpolation of ``lattice`` rows at ``length`` points spaced 1/scale.

    A gather of four rows per output point: no BLAS call, whose thread pool can stall for
    milliseconds on a busy machine even for tiny matrices.
    """
    pos = (torch.arange(length, dtype=torch.float32) + 0.5) / scale + 1.0 + phase
    base = pos.floor()
    t = (pos - base).view(-1, 1)
    weights = (
        torch.cat(
            [(1 - t) ** 3, 3 * t**3 - 6 * t**2 + 4, -3 * t**3 + 3 * t**2 + 3 * t + 1, t**3], dim=1
        )
        / 6.0
    )  # (L, 4) uniform cubic B-spline basis: smooth, no overshoot
    index = base.long().view(-1, 1) + torch.arange(-1, 3).view(1, -1)  # (L, 4)
    return (lattice[index] * weights.unsqueeze(-1)).sum(dim=1)


def fractal_noise(
    draw: Draw, height: int, width: int, *, scale: float, octaves: int = 4, persistence: float = 0.5
) -> Tensor:
    """Sum of ``octaves`` smooth-noise layers from ``scale`` down by halves.

    Returns:
        ``(1, 1, H, W)`` float32 on CPU, standardised to zero mean and unit std.
    """
    total = torch.zeros(1, 1, height, width)
    amplitude = 1.0
    for octave in range(octaves):
        layer_scale = scale / (2**octave)
        if layer_scale < 1.0:
            break
        total = total + amplitude * smooth_noise(draw, height, width, scale=layer_scale)
        amplitude *= persistence
    return _standardise(total)


def filtered_noise(draw: Draw, channels: int, height: int, width: int, *, sigma: float) -> Tensor:
    """White Gaussian noise low-passed by a Gaussian of ``sigma`` pixels (correlated grain).

    Returns:
        ``(1, C, H, W)`` float32 on CPU, each channel standardised to unit std.
    """
    noise = torch.randn(channels, height, width, generator=draw.gen).numpy()
    if sigma > 0.05:
        noise = np.stack([cv2.GaussianBlur(ch, (0, 0), float(sigma)) for ch in noise])
    return _standardise(
        torch.from_numpy(np.ascontiguousarray(noise)).unsqueeze(0), per_channel=True
    )


def _standardise(field: Tensor, per_channel: bool = False) -> Tensor:
    dims = (2, 3) if per_channel else (1, 2, 3)
    field = field - field.mean(dim=dims, keepdim=True)
    return (field / field.std(dim=dims, keepdim=True).clamp_min(1e-6)).contiguous()


def edge_distance(height: int, width: int) -> Tensor:
    """Distance to the nearest border divided by ``min(H, W)``: ``(1,1,H,W)`` in [0, 0.5]."""
    ys = torch.arange(height, dtype=torch.float32).view(-1, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, -1)
    dist = torch.minimum(
        torch.minimum(ys + 0.5, height - 0.5 - ys), torch.minimum(xs + 0.5, width - 0.5 - xs)
    )
    return (dist / min(height, width)).view(1, 1, height, width)


def coords(height: int, width: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates ``(ys, xs)``, each ``(H, W)`` float32, in pixels."""
    ys = torch.arange(height, dtype=torch.float32) + 0.5
    xs = torch.arange(width, dtype=torch.float32) + 0.5
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return grid_y, grid_x


# --- 1-D profiles and curves ----------------------------------------------------------------


def smooth_curve(draw: Draw, length: int, *, knots: int) -> np.ndarray:
    """1-D smooth noise: ``(length,)`` float64, roughly N(0, 1), ``knots`` random control points."""
    knots = max(int(knots), 2)
    values = draw.normal(knots)
    pos = np.linspace(0.0, knots - 1.0, length)
    low = np.floor(pos).astype(np.int64).clip(0, knots - 2)
    frac = pos - low
    blend = (1.0 - np.cos(np.pi * frac)) / 2.0  # cosine interpolation: C1-ish, no overshoot
    return values[low] * (1.0 - blend) + values[low + 1] * blend


def bezier(control: np.ndarray, count: int) -> np.ndarray:
    """Points on a cubic Bezier curve: ``control`` ``(4, 2)`` -> ``(count, 2)`` float64."""
    t = np.linspace(0.0, 1.0, count).reshape(-1, 1)
    p0, p1, p2, p3 = control
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


# --- rasterisation --------------------------------------------------------------------------

_SHIFT = 3  # cv2 fixed-point bits: 1/8 supersampled pixel precision
# x, y in output pixels (pixel i spans [i, i+1)) -> cv2's supersampled grid, whose pixel j has
# its centre at j: x_cv = x * supersample - 0.5


@dataclass(frozen=True)
class Stroke:
    """A polyline with per-vertex width (pixels) and opacity in [0, 1]."""

    points: np.ndarray  # (N, 2) float, (x, y) in output pixels
    widths: np.ndarray  # (N,) float, full width in pixels
    values: np.ndarray  # (N,) float, opacity in [0, 1]


def bezier_stroke(
    draw: Draw,
    start: np.ndarray,
    end: np.ndarray,
    *,
    bend: float,
    width: float,
    opacity: float,
    width_var: float = 0.35,
    breakup: float = 0.0,
    taper: float = 0.15,
    step: float = 4.0,
) -> Stroke:
    """A gently curved stroke from ``start`` to ``end`` (``(2,)`` x, y px).

    Args:
        draw: source of randomness.
        start: first end point.
        end: last end point.
        bend: control-point offset across the chord as a fraction of its length (0 = straight).
        width: mean full width in pixels.
        opacity: peak opacity in [0, 1].
        width_var: std of the log width along the stroke.
        breakup: share of the length (about) where the stroke fades out, in [0, 1).
        taper: fraction of the length over which each end narrows to a point.
        step: vertex spacing in pixels.

    Returns:
        A :class:`Stroke` with width and opacity varying smoothly along its length.
    """
    chord = end - start
    length = float(np.hypot(*chord)) + 1e-6
    normal = np.array([-chord[1], chord[0]]) / length
    offsets = bend * length * draw.normal(2)
    inner = [start + (k + 1) * chord / 3 + offsets[k] * normal for k in range(2)]
    count = int(np.clip(length / step, 6, 96))
    points = bezier(np.stack([start, *inner, end]), count)
    knots = max(count // 6, 2)
    t = np.linspace(0.0, 1.0, count)
    ends = np.clip(np.minimum(t, 1.0 - t) / max(taper, 1e-3), 0.0, 1.0) ** 0.5
    widths = width * np.exp(width_var * smooth_curve(draw, count, knots=knots)) * (0.2 + 0.8 * ends)
    values = opacity * np.clip(0.85 + 0.2 * smooth_curve(draw, count, knots=knots), 0.0, 1.0)
    if breakup > 0:
        gaps = smooth_curve(draw, count, knots=max(count // 4, 2))
        cut = float(np.quantile(gaps, breakup))
        values = values * np.clip((gaps - cut) * 3.0, 0.0, 1.0)
    return Stroke(points, widths, values * (0.3 + 0.7 * ends))


def render_strokes(
    height: int, width: int, strokes: list[Stroke], *, supersample: int = 2
) -> np.ndarray:
    """Rasterise strokes into a soft alpha map.

    Each segment is an anti-aliased cv2 line (round caps) with the mean width and opacity of its
    two vertices, drawn at ``supersample`` x resolution and area-downsampled, so widths below one
    pixel come out as fainter hairlines. Overlapping strokes overwrite (the later one wins).

    Returns:
        ``(H, W)`` float32 alpha in [0, 1].

    Example:
        >>> s = Stroke(np.array([[2.0, 2.0], [14.0, 14.0]]), np.array([2.0, 2.0]), np.ones(2))
        >>> float(render_strokes(16, 16, [s]).max()) > 0.9
        True
    """
    canvas = np.zeros((height * supersample, width * supersample), np.uint8)
    for stroke in strokes:
        pts = np.round((stroke.points * supersample - 0.5) * (1 << _SHIFT)).astype(np.int64)
        seg_w = (stroke.widths[1:] + stroke.widths[:-1]) * (0.5 * supersample)
        seg_v = np.round((stroke.values[1:] + stroke.values[:-1]) * 127.5).astype(np.int64)
        thick = np.maximum(np.round(seg_w), 1).astype(np.int64)
        for i in np.flatnonzero(seg_v > 0):
            cv2.line(
                canvas,
                (int(pts[i, 0]), int(pts[i, 1])),
                (int(pts[i + 1, 0]), int(pts[i + 1, 1])),
                int(seg_v[i]),
                int(thick[i]),
                cv2.LINE_AA,
                _SHIFT,
            )
    return _downsample(canvas, height, width)


def blob_polygons(
    draw: Draw, centers: np.ndarray, radii: np.ndarray, *, jag: float, vertices: int = 10
) -> np.ndarray:
    """Irregular closed polygons around ``centers`` ``(N, 2)``: ``(N, K, 2)`` float64 (x, y).

    Each blob is a slightly elliptical ring of ``vertices`` points whose radii are jittered by a
    relative ``jag`` (0 = smooth ellipse, 0.4 = ragged flake).
    """
    count = len(radii)
    start = draw.uniform(0.0, 2 * np.pi, (count, 1))
    angles = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)[None, :] + start
    aspect = draw.uniform(0.55, 1.0, (count, 1))
    turn = draw.uniform(0.0, np.pi, (count, 1))
    ring = radii[:, None] * np.clip(1.0 + jag * draw.normal((count, vertices)), 0.3, 1.8)
    local_x, local_y = ring * np.cos(angles), aspect * ring * np.sin(angles)
    xs = centers[:, :1] + local_x * np.cos(turn) - local_y * np.sin(turn)
    ys = centers[:, 1:2] + local_x * np.sin(turn) + local_y * np.cos(turn)
    return np.stack([xs, ys], axis=-1)


def render_polygons(
    height: int, width: int, polygons: list[np.ndarray], values: np.ndarray, *, supersample: int = 2
) -> np.ndarray:
    """Fill polygons (``(K, 2)`` x,y pixel arrays) with opacities ``values``; overwrite order.

    Returns:
        ``(H, W)`` float32 alpha in [0, 1], anti-aliased.
    """
    canvas = np.zeros((height * supersample, width * supersample), np.uint8)
    for poly, value in zip(polygons, values, strict=True):
        level = int(round(float(value) * 255))
        if level <= 0:
            continue
        pts = (
            np.round((poly * supersample - 0.5) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
        )
        cv2.fillPoly(canvas, [pts], level, cv2.LINE_AA, _SHIFT)
    return _downsample(canvas, height, width)


def render_blobs(
    draw: Draw,
    height: int,
    width: int,
    centers: np.ndarray,
    radii: np.ndarray,
    values: np.ndarray,
    *,
    jag: float = 0.25,
) -> np.ndarray:
    """Irregular blobs at ``centers`` ``(N, 2)`` (x, y px) with ``radii`` ``(N,)`` px.

    Returns:
        ``(H, W)`` float32 alpha in [0, 1]; blobs under half a pixel come out faint.

    Example:
        >>> centre, radius = np.array([[8.0, 8.0]]), np.array([3.0])
        >>> alpha = render_blobs(Draw(0), 16, 16, centre, radius, np.ones(1))
        >>> float(alpha[8, 8])
        1.0
    """
    if len(radii) == 0:
        return np.zeros((height, width), np.float32)
    polygons = blob_polygons(draw, centers, radii, jag=jag)
    return render_polygons(height, width, list(polygons), values)


def _downsample(canvas: np.ndarray, height: int, width: int) -> np.ndarray:
    if canvas.shape != (height, width):
        canvas = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return canvas.astype(np.float32) * (1.0 / 255.0)


def soften(alpha: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-soften an ``(H, W)`` float32 alpha by ``sigma`` pixels (no-op for tiny sigma)."""
    if sigma < 0.1:
        return alpha
    return cv2.GaussianBlur(alpha, (0, 0), float(sigma))


def to_tensor(alpha: np.ndarray, like: Tensor) -> Tensor:
    """``(H, W)`` numpy alpha -> ``(1, 1, H, W)`` float32 on ``like``'s device."""
    return torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32)).to(like.device)[
        None, None
    ]
