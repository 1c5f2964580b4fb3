"""Marks: line marks and specks in many looks, for a scratch/dust detector that generalises.

The other defect ops each render one family in one style (light Bezier scratches, white dust,
light crack webs). A detector trained on them learns that style. This op draws each mark's
look independently, so the only thing the marks share is that they are damage:

* geometry: straight line, polyline with 2-6 sharp bends, gently curved (Bezier), branching
  crack (a jagged main line with 1-3 side branches), or a short curly hair/fibre (8-60 px);
  lengths are log-uniform from 10 px to 1.5 image diagonals.
* width: 0.6-16 px, skewed to thin, with a profile: ``hard`` (binary edge), ``antialiased``,
  ``soft`` (Gaussian edge of 0.3-1.2 px) or ``tapered`` (narrowing toward the ends).
* tone: ``dark``, ``white``, mid ``gray``, ``paper`` (the print's own whites: per-channel 99th
  percentile, often yellowed) or ``relative`` (the image itself darkened or lightened by a
  factor); opacity 0.35-1.
* specks: round, irregular or elongated, radius 0.5-5 px, white, dark or paper-coloured.

Compositing per mark: ``out = out + coverage * opacity * (target - out)``, clamped to [0, 1].
Lines under 1 px wide and specks under 0.7 px across an axis are drawn at that size and
proportionally fainter (what a scan makes of them), so every mark has a core the label can find.

Mask: ``(B,1,H,W)`` float32 in [0, 1], the maximum over marks of ``coverage * clamp(visible /
0.1, 0, 1)``, where ``visible`` is the per-pixel max over channels of the change the mark would
make at full coverage. A mark that changes nothing visibly (white on a white sky) is not
labelled. Threshold at 0.25 for a binary label, like the other defect ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.degrade.base import PerImageDefect, randint, seeds, uniform
from daguerre.degrade.fields import (
    Draw,
    Stroke,
    bezier_stroke,
    render_polygons,
    render_strokes,
    smooth_curve,
    soften,
    to_tensor,
)
from daguerre.types import Tensor

GEOMETRIES = ("straight", "polyline", "curved", "branching", "hair")
PROFILES = ("hard", "antialiased", "soft", "tapered")
TONES = ("dark", "white", "gray", "paper", "relative")
SPECK_SHAPES = ("round", "irregular", "elongated")
SPECK_TONES = ("white", "dark", "paper")

_GEOMETRY_P = (0.2, 0.2, 0.25, 0.15, 0.2)
_PROFILE_P = (0.25, 0.3, 0.25, 0.2)
_TONE_P = (0.25, 0.25, 0.15, 0.2, 0.15)
_SPECK_TONE_P = (0.5, 0.3, 0.2)
_WIDTH = (0.6, 16.0)  # full width in pixels
_THIN_SKEW = 1.6  # width = low * (high/low) ** (u ** skew): median ~1.8 px, ~14 % over 8 px
_MIN_WIDTH = 1.0  # rendered width floor in pixels; thinner marks become fainter instead
_MIN_SPECK_AXIS = 0.7  # rendered semi-axis floor in pixels; smaller specks become fainter
_VISIBLE = 0.1  # change (in [0, 1] units) at which a mark counts as fully visible
_AREA = 256.0 * 256.0  # speck counts are per this many pixels
_PAPER_SAMPLES = 16384  # pixels per channel used for the 99th percentile


@dataclass(frozen=True)
class MarksParams:
    """Per-image mark parameters, ``(B,)`` tensors; each mark's look is drawn from ``seed``."""

    lines: Tensor  # int64, number of line marks (scratches, cracks, hairs)
    specks: Tensor  # float, specks per 256x256 pixels; 0 (with lines 0) = identity
    seed: Tensor  # int64, seeds every mark's geometry, width, profile, tone and opacity


@dataclass(frozen=True)
class MarkStyle:
    """The look of one line mark, drawn by :func:`mark_styles`."""

    geometry: str  # one of GEOMETRIES
    profile: str  # one of PROFILES
    tone: str  # one of TONES
    width: float  # full width in pixels, in [0.6, 16]
    opacity: float  # in [0.35, 1]
    softness: float  # Gaussian edge sigma in pixels (``soft`` profile), else 0
    colour: tuple[float, float, float]  # RGB in [0, 1] for dark / white / gray tones
    factor: float  # ``relative`` tone: the image (or its distance to white) times this
    lighten: bool  # ``relative`` tone: lighten rather than darken


class Marks(PerImageDefect[MarksParams]):
    """Line marks and specks, each with an independently drawn look; returns a visibility mask.

    Args:
        lines: (min, max) line marks per image, inclusive (not scaled by size: a scratch
            spans a good part of the picture whatever the crop).
        specks: (min, max) specks per 256x256 px, uniform; scaled by the image area and
            rounded per image.
    """

    name = "marks"

    def __init__(
        self, *, lines: tuple[int, int] = (0, 10), specks: tuple[float, float] = (0.0, 60.0)
    ) -> None:
        self.lines, self.specks = lines, specks

    def sample(self, gen: torch.Generator, batch: int) -> MarksParams:
        """Draw the line count, speck density and a seed per image."""
        return MarksParams(
            lines=randint(gen, batch, *self.lines),
            specks=uniform(gen, batch, *self.specks),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: MarksParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        draw = Draw(params.seed[i])
        styles = mark_styles(draw, int(params.lines[i]))
        specks = speck_count(draw, float(params.specks[i]), height, width)
        out, mask = img.clone(), torch.zeros_like(img[:, :1])
        if not styles and specks == 0:
            return out, mask
        paper = paper_colour(img)
        for style in styles:
            _draw_line_mark(draw, style, out, mask, paper)
        if specks:
            _draw_specks(draw, specks, out, mask, paper)
        return out, mask


# --- styles -----------------------------------------------------------------------------------


def mark_styles(draw: Draw, count: int) -> list[MarkStyle]:
    """Draw the looks of ``count`` line marks (the first draws :class:`Marks` makes per image).

    Example:
        >>> [s.profile in PROFILES for s in mark_styles(Draw(0), 3)]
        [True, True, True]
    """
    return [_draw_style(draw) for _ in range(max(count, 0))]


def _draw_style(draw: Draw) -> MarkStyle:
    u = draw.uniform(0.0, 1.0, 10)  # one block of draws per mark: cheaper than ten calls
    geometry = GEOMETRIES[_pick(u[0], _GEOMETRY_P)]
    profile = PROFILES[_pick(u[1], _PROFILE_P)]
    tone = TONES[_pick(u[2], _TONE_P)]
    low, high = _WIDTH
    width = low * (high / low) ** (u[3] ** _THIN_SKEW)
    if geometry == "hair":
        width = min(width, 1.0 + 2.0 * u[4])  # hairs and fibres stay thin: at most 1-3 px
    low, high = {"dark": (0.0, 0.25), "white": (0.8, 1.0), "gray": (0.3, 0.7)}.get(tone, (0.5, 0.5))
    tint = np.clip(low + (high - low) * u[5] + draw.uniform(-0.03, 0.03, 3), 0.0, 1.0)
    return MarkStyle(
        geometry=geometry,
        profile=profile,
        tone=tone,
        width=float(width),
        opacity=0.35 + 0.65 * float(u[6]),
        softness=0.3 + 0.9 * float(u[7]) if profile == "soft" else 0.0,
        colour=(float(tint[0]), float(tint[1]), float(tint[2])),  # slightly off-neutral
        factor=0.3 + 0.45 * float(u[8]),
        lighten=bool(u[9] < 0.5),
    )


def _pick(u: float, probs: tuple[float, ...]) -> int:
    """Index for a uniform ``u`` in [0, 1) under probabilities ``probs`` (summing to 1)."""
    index = np.searchsorted(np.cumsum(probs), u, side="right")
    return min(int(index), len(probs) - 1)  # guards against rounding in the cumulative sum


# --- geometry: each returns [(path (N,2) x,y px, width scale), ...] --------------------------


def _mark_paths(
    draw: Draw, style: MarkStyle, height: int, width: int
) -> list[tuple[np.ndarray, float]]:
    """The mark's paths, placed so that the main path crosses the image."""
    diag = float(np.hypot(height, width))
    length = float(np.exp(draw.scalar(np.log(10.0), np.log(1.5 * diag))))
    if style.geometry == "straight":
        paths = [(_zigzag(draw, length, 1, (0.0, 0.0)), 1.0)]
    elif style.geometry == "polyline":
        segments = int(draw.integers(2, 6))
        paths = [(_zigzag(draw, length, segments, (np.deg2rad(25.0), np.deg2rad(120.0))), 1.0)]
    elif style.geometry == "curved":
        paths = [(_curve(draw, length), 1.0)]
    elif style.geometry == "branching":
        paths = _branching(draw, length)
    else:
        paths = [(_hair(draw, float(np.exp(draw.scalar(np.log(8.0), np.log(60.0))))), 1.0)]
    # a random point of the main path lands inside the image (its mean might miss: a "V")
    main = paths[0][0]
    where = draw.uniform(0.0, 1.0, 3)
    anchor = main[min(int(where[0] * len(main)), len(main) - 1)]
    shift = np.array([where[1] * width, where[2] * height]) - anchor
    return [(path + shift, scale) for path, scale in paths]


def _zigzag(
    draw: Draw,
    length: float,
    segments: int,
    turn: tuple[float, float],
    heading: float | None = None,
) -> np.ndarray:
    """A polyline from the origin of ``segments`` runs turning by ``turn`` (min, max) radians.

    Returns:
        ``(N, 2)`` float64 points (x, y), at most ``max(3, length / 48)`` px apart (for smooth
        width profiles); the corners are kept.
    """
    start = draw.scalar(0.0, 2 * np.pi) if heading is None else heading
    runs = draw.uniform(0.5, 1.5, segments)
    runs = runs * length / runs.sum()
    turns = draw.uniform(*turn, segments) * np.where(draw.uniform(0.0, 1.0, segments) < 0.5, 1, -1)
    angles = start + np.cumsum(np.concatenate([[0.0], turns[1:]]))
    steps = runs[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    vertices = np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    return _densify(vertices, max(3.0, length / 48))


def _densify(vertices: np.ndarray, step: float) -> np.ndarray:
    """Insert points so consecutive ones are at most ``step`` px apart: ``(K,2)`` -> ``(N,2)``."""
    pieces = []
    for a, b in zip(vertices[:-1], vertices[1:], strict=True):
        count = max(int(np.ceil(np.hypot(*(b - a)) / step)), 1)
        pieces.append(a + (b - a) * np.linspace(0.0, 1.0, count, endpoint=False)[:, None])
    return np.concatenate([*pieces, vertices[-1:]])


def _curve(draw: Draw, length: float) -> np.ndarray:
    """A gently curved Bezier path of chord ``length`` from the origin: ``(N, 2)``."""
    angle = draw.scalar(0.0, 2 * np.pi)
    end = length * np.array([np.cos(angle), np.sin(angle)])
    stroke = bezier_stroke(
        draw, np.zeros(2), end, bend=draw.scalar(0.05, 0.35), width=1.0, opacity=1.0, step=3.0
    )
    return stroke.points


def _branching(draw: Draw, length: float) -> list[tuple[np.ndarray, float]]:
    """A crack: a jagged main line and 1-3 thinner side branches sprouting from it."""
    jag = (np.deg2rad(5.0), np.deg2rad(35.0))
    main = _zigzag(draw, length, int(draw.integers(4, 10)), jag)
    count = int(draw.integers(1, 3))
    where = draw.uniform(0.05, 0.95, count)  # position along the main line
    side = draw.uniform(np.deg2rad(25.0), np.deg2rad(75.0), count)
    side = side * np.where(draw.uniform(0.0, 1.0, count) < 0.5, 1.0, -1.0)
    reach = length * draw.uniform(0.15, 0.5, count)
    thin = draw.uniform(0.4, 0.8, count)  # branch width relative to the main line
    segments = draw.integers(2, 5, count)
    paths = [(main, 1.0)]
    for k in range(count):
        at = min(max(int(where[k] * len(main)), 1), len(main) - 2)
        along = main[at + 1] - main[at - 1]
        heading = float(np.arctan2(along[1], along[0]) + side[k])
        branch = _zigzag(draw, float(reach[k]), int(segments[k]), jag, heading=heading)
        paths.append((branch + main[at], float(thin[k])))
    return paths


def _hair(draw: Draw, length: float) -> np.ndarray:
    """A curly hair or fibre of ``length`` px from the origin: ``(N, 2)``, 1.5 px steps."""
    count = max(int(length / 1.5), 4)
    curl = draw.scalar(0.02, 0.12) * smooth_curve(draw, count, knots=int(draw.integers(2, 5)))
    angle = draw.scalar(0.0, 2 * np.pi) + np.cumsum(curl * 1.5)  # curl in radians per px
    steps = 1.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])


# --- rendering a line mark --------------------------------------------------------------------


def _stroke(draw: Draw, path: np.ndarray, style: MarkStyle, scale: float) -> Stroke:
    """Per-vertex widths for ``path`` following the style's width profile."""
    count = len(path)
    knots = max(count // 8, 2)
    width = style.width * scale
    if style.profile == "tapered":
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
        t = arc / max(arc[-1], 1e-6)
        ends = np.clip(np.minimum(t, 1.0 - t) / draw.scalar(0.2, 0.5), 0.0, 1.0) ** 0.6
        wobble = np.exp(0.35 * smooth_curve(draw, count, knots=knots))  # varies along, too
        widths = width * (0.12 + 0.88 * ends) * wobble
    else:
        widths = width * (1.0 + 0.08 * smooth_curve(draw, count, knots=knots))
    # at least a pixel wide, so the core reaches coverage ~0.5+ (a binary edge and the label need
    # it); a thinner mark is drawn fainter instead, see _line_opacity
    return Stroke(path, np.maximum(widths, _MIN_WIDTH), np.ones(count))


def _line_opacity(style: MarkStyle) -> float:
    """Opacity of a line mark: a sub-pixel width is drawn 1 px wide and proportionally fainter."""
    return style.opacity * min(style.width / _MIN_WIDTH, 1.0)


def _window(
    paths: list[tuple[np.ndarray, float]], pad: float, height: int, width: int
) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` pixel box around the paths plus ``pad``, or None if off-image."""
    points = np.concatenate([path for path, _ in paths])
    x0, y0 = np.floor(points.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + pad).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    return (int(y0), int(y1), int(x0), int(x1)) if x1 > x0 and y1 > y0 else None


def _line_coverage(strokes: list[Stroke], style: MarkStyle, box_h: int, box_w: int) -> np.ndarray:
    """Geometric coverage ``(h, w)`` float32 in [0, 1] of strokes in a box, by width profile."""
    alpha = render_strokes(box_h, box_w, strokes)
    if style.profile == "hard":
        return (alpha >= 0.5).astype(np.float32)
    if style.profile == "soft":
        soft = soften(alpha, style.softness)
        # keep the core's strength: a blurred hairline is a visible soft line, not a ghost
        return np.clip(soft * (alpha.max() / max(float(soft.max()), 1e-6)), 0.0, 1.0)
    return alpha


def _draw_line_mark(draw: Draw, style: MarkStyle, out: Tensor, mask: Tensor, paper: Tensor) -> None:
    """Composite one line mark into ``out`` and ``mask`` (``(1,3,H,W)``, ``(1,1,H,W)``) in place."""
    height, width = out.shape[2:]
    paths = _mark_paths(draw, style, height, width)
    strokes = [_stroke(draw, path, style, scale) for path, scale in paths]
    pad = style.width * 1.5 + 3.0 * style.softness + 2.0
    box = _window(paths, pad, height, width)
    if box is None:
        return
    y0, y1, x0, x1 = box
    offset = np.array([x0, y0], dtype=np.float64)
    shifted = [Stroke(s.points - offset, s.widths, s.values) for s in strokes]
    region = out[:, :, y0:y1, x0:x1]
    coverage = to_tensor(_line_coverage(shifted, style, y1 - y0, x1 - x0), out)
    target = _tone_target(style, region, paper)
    new, label = composite_mark(region, coverage, _line_opacity(style), target)
    out[:, :, y0:y1, x0:x1] = new
    mask[:, :, y0:y1, x0:x1] = torch.maximum(mask[:, :, y0:y1, x0:x1], label)


def _tone_target(style: MarkStyle, region: Tensor, paper: Tensor) -> Tensor:
    """The colour a solid mark gives ``region`` ``(1,3,h,w)``: ``(1,3,1,1)`` or ``(1,3,h,w)``."""
    if style.tone == "paper":
        return paper
    if style.tone == "relative":
        if style.lighten:
            return 1.0 - (1.0 - region) * style.factor
        return region * style.factor
    return torch.tensor(style.colour, dtype=region.dtype, device=region.device).view(1, 3, 1, 1)


def composite_mark(
    region: Tensor, coverage: Tensor, opacity: float | Tensor, target: Tensor
) -> tuple[Tensor, Tensor]:
    """Blend ``target`` over ``region`` and label the visible part.

    Args:
        region: ``(1,3,h,w)`` float32 in [0, 1], the image under the mark.
        coverage: ``(1,1,h,w)`` float32 in [0, 1], geometric coverage.
        opacity: scalar or ``(1,1,h,w)`` in [0, 1].
        target: ``(1,3,1,1)`` or ``(1,3,h,w)`` in [0, 1], the colour at full coverage and opacity.

    Returns:
        ``(region', label)``: the blended region, clamped to [0, 1], and ``(1,1,h,w)`` label
        ``coverage * clamp(visible / 0.1, 0, 1)`` with ``visible`` the max change over channels
        at full coverage.
    """
    full = opacity * (target - region)  # the change where the mark covers the whole pixel
    visible = full.abs().amax(dim=1, keepdim=True)
    label = coverage * (visible / _VISIBLE).clamp(0.0, 1.0)
    return (region + coverage * full).clamp(0.0, 1.0), label.clamp(0.0, 1.0)


def paper_colour(img: Tensor) -> Tensor:
    """Per-channel 99th percentile of ``(1,3,H,W)`` (the print's own whites): ``(1,3,1,1)``."""
    flat = img[0].reshape(3, -1)
    flat = flat[:, :: max(flat.shape[1] // _PAPER_SAMPLES, 1)]  # a fixed subsample: same answer
    rank = max(int(np.ceil(0.99 * flat.shape[1])), 1)
    return flat.kthvalue(rank, dim=1).values.view(1, 3, 1, 1)


# --- specks -----------------------------------------------------------------------------------


def speck_count(draw: Draw, density: float, height: int, width: int) -> int:
    """Specks in an image: ``density`` per 256x256 px times the area, randomly rounded."""
    return int(np.floor(density * height * width / _AREA + draw.scalar(0.0, 1.0)))


def _speck_polygons(
    draw: Draw, centres: np.ndarray, radii: np.ndarray, shapes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Speck outlines, all at once: ``(N, 2)`` centres, ``(N,)`` radii and shape indices.

    ``round``: near-circular; ``irregular``: a ring whose radii are jittered by a per-speck jag
    in [0, 0.5] (as :func:`~daguerre.degrade.fields.blob_polygons`); ``elongated``: a thin
    ellipse 1.3-2.5 radii long (a grain or fibre fragment). Semi-axes under
    ``_MIN_SPECK_AXIS`` are drawn at that size and proportionally fainter, like thin lines.

    Returns:
        ``(polygons (N, 12, 2) float64 (x, y) px, fade (N,) in (0, 1], an opacity factor)``.
    """
    count = len(radii)
    angles = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)[None, :]
    round_, irregular, elongated = (shapes == k for k in range(len(SPECK_SHAPES)))
    major = radii * np.where(elongated, draw.uniform(1.3, 2.5, count), 1.0)
    minor = radii * np.where(
        elongated,
        draw.uniform(0.2, 0.5, count),
        np.where(round_, draw.uniform(0.85, 1.0, count), draw.uniform(0.55, 1.0, count)),
    )
    fade = np.minimum(major / _MIN_SPECK_AXIS, 1.0) * np.minimum(minor / _MIN_SPECK_AXIS, 1.0)
    major, minor = np.maximum(major, _MIN_SPECK_AXIS), np.maximum(minor, _MIN_SPECK_AXIS)
    jag = np.where(irregular, draw.uniform(0.0, 0.5, count), 0.0)[:, None]
    ring = np.clip(1.0 + jag * draw.normal((count, 12)), 0.3, 1.8)
    local_x = major[:, None] * ring * np.cos(angles)
    local_y = minor[:, None] * ring * np.sin(angles)
    turn = draw.uniform(0.0, np.pi, (count, 1))
    xs = centres[:, :1] + local_x * np.cos(turn) - local_y * np.sin(turn)
    ys = centres[:, 1:2] + local_x * np.sin(turn) + local_y * np.cos(turn)
    return np.stack([xs, ys], axis=-1), fade


def _draw_specks(draw: Draw, count: int, out: Tensor, mask: Tensor, paper: Tensor) -> None:
    """Composite ``count`` specks into ``out`` and ``mask`` in place, one layer per tone."""
    height, width = out.shape[2:]
    centres = np.stack([draw.uniform(0.0, width, count), draw.uniform(0.0, height, count)], axis=1)
    radii = np.exp(draw.uniform(np.log(0.5), np.log(5.0), count))
    opacity = draw.uniform(0.35, 1.0, count)
    shapes = draw.integers(0, len(SPECK_SHAPES) - 1, count)
    tones = np.searchsorted(np.cumsum(_SPECK_TONE_P)[:-1], draw.uniform(0.0, 1.0, count), "right")
    polygons, fade = _speck_polygons(draw, centres, radii, shapes)
    opacity = opacity * fade
    for tone_index, tone in enumerate(SPECK_TONES):
        members = np.flatnonzero(tones == tone_index)
        if len(members) == 0:
            continue
        chosen = list(polygons[members])
        cover = render_polygons(height, width, chosen, np.ones(len(members)))
        weighted = render_polygons(height, width, chosen, opacity[members])
        coverage = to_tensor(cover, out)
        strength = to_tensor(weighted / np.maximum(cover, 1e-3), out).clamp(0.0, 1.0)
        target = paper if tone == "paper" else _speck_colour(draw, tone, out)
        new, label = composite_mark(out, coverage, strength, target)
        out.copy_(new)
        torch.maximum(mask, label, out=mask)


def _speck_colour(draw: Draw, tone: str, like: Tensor) -> Tensor:
    """A white or dark speck colour, ``(1,3,1,1)`` on ``like``'s device."""
    level = draw.scalar(0.85, 1.0) if tone == "white" else draw.scalar(0.0, 0.2)
    rgb = np.clip(level + draw.uniform(-0.03, 0.03, 3), 0.0, 1.0)
    return torch.tensor(rgb, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
