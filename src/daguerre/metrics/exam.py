"""Exam degradations: damage we never train on, written apart from :mod:`daguerre.degrade`.

An exam is a held-out test of a restorer. It is a new user's idea of an old photo, with its
own code and its own parametrisations, so a model that has merely learned our damage engine
scores visibly worse here than on our presets (see the guide, "How we check ourselves").
This module imports nothing from ``daguerre.degrade`` on purpose; keep it that way.

Three exams, each ``(3,H,W) float32 RGB [0,1] -> (image, mask)`` with the clean photo as the
target (everything here is recoverable or nearly):

* ``exam`` (:func:`exam`), in this order:

  1. BOPBTL-style damage, the three steps in random order, each with p 0.6: Gaussian blur
     (sigma 0.5-2.5 px), Gaussian noise (sigma 3-20 / 255, per pixel and channel), JPEG
     (quality 40-90, OpenCV's encoder).
  2. A cast: with p 0.5 sepia toning (luma through a warm curve) mixed into the colour photo
     at a fraction uniform in 0.2-0.9; else with p 0.5 a yellow/orange cast (channels
     multiplied by ``(1, g, b)``, g in 0.85-0.97, b in 0.55-0.85); else none.
  3. Faded contrast as a levels squeeze: black point lifted to 0.05-0.25 and white point
     lowered to 0.75-0.95, each jittered per channel by up to +-0.03.
  4. Film grain with p 0.7: one Gaussian field for all channels, blurred (sigma 0.7 px),
     std 0.01-0.04, weighted by ``0.5 + 2 L (1 - L)`` of the luma L (strongest in mid-tones).
  5. 0-3 thin bright scratches (anti-aliased polylines, 1-2 px, 2-5 segments) and 0-20 dust
     specks (radius 1-2 px, bright or dark).

* ``exam-scratches`` (:func:`exam_scratches`): on the clean photo only, 2-8 anti-aliased
  polylines 1-4 px wide (70 % bright, 30 % dark; 2-5 segments each) and 5-40 round dust
  specks of radius 1-3 px (bright or dark).

* ``exam-bands`` (:func:`exam_bands`): the inpainting exam, on the clean photo only: 1-3
  wide bands (anti-aliased polylines 2-16 px thick, 1-4 segments, 70 % bright, opacity
  0.75-1: tape, torn emulsion, a thick crease) and 0-6 large specks of radius 2-6 px. What
  lies under a band is all but lost, so only a fill from its surroundings can score.

The mask is ``(1,H,W)`` float32, 1 where a scratch or speck covers more than 10 % of a pixel
(anti-aliased coverage > 0.1), else 0. Coverage at or below 0.1 is dropped before
compositing, so for ``exam-scratches`` the mask holds every changed pixel exactly; for
``exam`` it marks the scratches and specks only (steps 1-4 touch every pixel).

Randomness is explicit: each function takes a seed or a ``numpy.random.Generator``, and the
same seed gives the same bytes. :func:`degrade_exam` picks an exam by name from ``EXAMS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor

from daguerre.errors import DaguerreError, UnknownNameError

Seed = int | np.random.Generator
Exam = Callable[[Tensor, Seed], tuple[Tensor, Tensor]]

# --- ranges (uniform unless noted) ----------------------------------------------------------

STEP_PROB = 0.6  # each BOPBTL-style step
BLUR_SIGMA = (0.5, 2.5)  # px
NOISE_SIGMA = (3 / 255, 20 / 255)  # [0,1] units
JPEG_QUALITY = (40, 90)  # inclusive
SEPIA_PROB = 0.5
TINT_PROB = 0.5  # of the photos that got no sepia
SEPIA_MIX = (0.2, 0.9)  # fraction of the toned version
TINT_GREEN = (0.85, 0.97)  # channel gains; red stays 1
TINT_BLUE = (0.55, 0.85)
BLACK_POINT = (0.05, 0.25)
WHITE_POINT = (0.75, 0.95)
LEVEL_JITTER = 0.03  # per channel, +-
GRAIN_PROB = 0.7
GRAIN_STD = (0.01, 0.04)  # [0,1] units, before the luma weight
GRAIN_BLUR = 0.7  # px, the grain size
MASK_COVERAGE = 0.1  # a pixel counts as damaged above this anti-aliased coverage
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601
_SHIFT = 4  # OpenCV drawing with 1/16-px sub-pixel coordinates
_UNIT = 1 << _SHIFT


@dataclass(frozen=True)
class Marks:
    """How many scratches and specks to draw, and how.

    Attributes:
        scratches: (min, max) polylines, inclusive.
        width: (min, max) line thickness in px, inclusive.
        bright_prob: probability that a scratch is bright (else dark).
        segments: (min, max) straight pieces per polyline, inclusive.
        specks: (min, max) dust specks, inclusive.
        radius: (min, max) speck radius in px.
    """

    scratches: tuple[int, int]
    width: tuple[int, int]
    bright_prob: float
    segments: tuple[int, int]
    specks: tuple[int, int]
    radius: tuple[float, float]


EXAM_MARKS = Marks((0, 3), (1, 2), 1.0, (2, 5), (0, 20), (1.0, 2.0))
SCRATCH_MARKS = Marks((2, 8), (1, 4), 0.7, (2, 5), (5, 40), (1.0, 3.0))
BAND_MARKS = Marks((1, 3), (2, 16), 0.7, (1, 4), (0, 6), (2.0, 6.0))
BRIGHT = (0.85, 1.0)  # value of a bright mark
DARK = (0.0, 0.15)  # value of a dark mark
OPACITY = (0.75, 1.0)  # of a mark over the photo

# --- helpers --------------------------------------------------------------------------------


def _rng(seed: Seed) -> np.random.Generator:
    """A generator from a seed; a generator is used as it is (and advanced)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def _to_hwc(image: Tensor) -> np.ndarray:
    """(3,H,W) float tensor -> (H,W,3) float32 numpy array clipped to [0,1]."""
    if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[0] != 3:
        got = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"expected a (3,H,W) image tensor, got {got}")
    if not image.is_floating_point():
        raise ValueError(f"expected a float image in [0, 1], got {image.dtype}")
    array = image.detach().float().cpu().clamp(0.0, 1.0).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(array)


def _to_chw(array: np.ndarray, like: Tensor) -> Tensor:
    """(H,W,C) float numpy -> (C,H,W) float32 tensor in [0,1] on ``like``'s device."""
    chw = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)
    return chw.clamp(0.0, 1.0).contiguous().to(like.device)


def _clip(array: np.ndarray) -> np.ndarray:
    return np.clip(array, 0.0, 1.0).astype(np.float32)


# --- BOPBTL-style damage ------------------------------------------------------------------


def _blur(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(*BLUR_SIGMA)
    return cv2.GaussianBlur(array, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def _noise(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(*NOISE_SIGMA)
    return _clip(array + rng.normal(0.0, sigma, array.shape).astype(np.float32))


def _jpeg(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    bgr = cv2.cvtColor(np.round(_clip(array) * 255.0).astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DaguerreError(f"OpenCV could not JPEG-encode a {array.shape} image")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:
        raise DaguerreError("OpenCV could not decode its own JPEG")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def _bopbtl(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, noise and JPEG in a random order, each with probability ``STEP_PROB``."""
    steps = (_blur, _noise, _jpeg)
    for index in rng.permutation(len(steps)):
        if rng.random() < STEP_PROB:
            array = steps[index](array, rng)
    return _clip(array)


# --- cast, fading, grain ------------------------------------------------------------------


def _sepia(array: np.ndarray, mix: float) -> np.ndarray:
    """Luma through a warm curve (red lifted, blue pressed down), mixed in at ``mix``."""
    luma = np.clip(array @ LUMA, 0.0, 1.0)
    toned = np.stack([luma**0.85, 0.95 * luma, 0.82 * luma**1.3], axis=-1)
    return _clip((1.0 - mix) * array + mix * toned)


def _cast(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sepia (p 0.5), else a yellow/orange tint (p 0.5 of the rest), else nothing."""
    if rng.random() < SEPIA_PROB:
        return _sepia(array, rng.uniform(*SEPIA_MIX))
    if rng.random() < TINT_PROB:
        tint = np.array([1.0, rng.uniform(*TINT_GREEN), rng.uniform(*TINT_BLUE)], np.float32)
        return _clip(array * tint)
    return array


def _levels(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Squeeze [0,1] into [black, white] per channel (a faded print)."""
    black = rng.uniform(*BLACK_POINT) + rng.uniform(-LEVEL_JITTER, LEVEL_JITTER, 3)
    white = rng.uniform(*WHITE_POINT) + rng.uniform(-LEVEL_JITTER, LEVEL_JITTER, 3)
    return _clip(black + (white - black) * array)


def _grain(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blurred Gaussian grain, one field for all channels, strongest in the mid-tones."""
    std = rng.uniform(*GRAIN_STD)
    white = rng.standard_normal(array.shape[:2]).astype(np.float32)
    field = cv2.GaussianBlur(white, (0, 0), sigmaX=GRAIN_BLUR, borderType=cv2.BORDER_REFLECT)
    field = field * (std / max(float(field.std()), 1e-6))
    luma = array @ LUMA
    return _clip(array + (field * (0.5 + 2.0 * luma * (1.0 - luma)))[..., None])


# --- scratches and dust -------------------------------------------------------------------


def _polyline(rng: np.random.Generator, height: int, width: int, segments: int) -> np.ndarray:
    """(segments+1, 2) int32 points in 1/16 px: starts inside, bends a little at each joint."""
    length = rng.uniform(0.15, 0.8) * max(height, width)  # px, whole line
    point = rng.uniform((0.0, 0.0), (width, height))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    points = [point]
    for _ in range(segments):
        angle += rng.normal(0.0, 0.35)  # rad
        step = length / segments * rng.uniform(0.6, 1.4)
        points.append(points[-1] + step * np.array([math.cos(angle), math.sin(angle)]))
    return np.round(np.array(points) * _UNIT).astype(np.int32)


def _composite(
    array: np.ndarray, mask: np.ndarray, canvas: np.ndarray, value: float, opacity: float
) -> None:
    """Blend one drawn mark (uint8 coverage ``canvas``) into ``array``; grow ``mask``."""
    coverage = canvas.astype(np.float32) / 255.0
    coverage[coverage <= MASK_COVERAGE] = 0.0  # so the mask holds every changed pixel
    alpha = (coverage * opacity)[..., None]
    array += alpha * (value - array)
    mask[coverage > 0] = 1.0


def _value(rng: np.random.Generator, bright_prob: float) -> float:
    return float(rng.uniform(*(BRIGHT if rng.random() < bright_prob else DARK)))


def _marks(array: np.ndarray, rng: np.random.Generator, marks: Marks) -> np.ndarray:
    """Draw scratches then specks into ``array`` in place; returns the (H,W) float32 mask."""
    height, width = array.shape[:2]
    mask = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(marks.scratches[0], marks.scratches[1] + 1))):
        segments = int(rng.integers(marks.segments[0], marks.segments[1] + 1))
        points = _polyline(rng, height, width, segments)
        thickness = int(rng.integers(marks.width[0], marks.width[1] + 1))
        value, opacity = _value(rng, marks.bright_prob), rng.uniform(*OPACITY)
        canvas = np.zeros((height, width), np.uint8)
        cv2.polylines(canvas, [points], False, 255, thickness, cv2.LINE_AA, _SHIFT)
        _composite(array, mask, canvas, value, opacity)
    for _ in range(int(rng.integers(marks.specks[0], marks.specks[1] + 1))):
        center = np.round(rng.uniform((0.0, 0.0), (width, height)) * _UNIT).astype(int)
        radius = round(rng.uniform(*marks.radius) * _UNIT)
        value, opacity = _value(rng, 0.5), rng.uniform(*OPACITY)
        canvas = np.zeros((height, width), np.uint8)
        cv2.circle(canvas, (int(center[0]), int(center[1])), radius, 255, -1, cv2.LINE_AA, _SHIFT)
        _composite(array, mask, canvas, value, opacity)
    np.clip(array, 0.0, 1.0, out=array)
    return mask


def _marked(image: Tensor, seed: Seed, marks: Marks) -> tuple[Tensor, Tensor]:
    """``marks`` drawn on the clean ``image`` (3,H,W): ``(damaged, exact mask (1,H,W))``."""
    array, rng = _to_hwc(image), _rng(seed)
    mask = _marks(array, rng, marks)
    return _to_chw(array, image), _to_chw(mask[..., None], image)


# --- the exams ----------------------------------------------------------------------------


def exam(image: Tensor, seed: Seed) -> tuple[Tensor, Tensor]:
    """The restoration exam: BOPBTL-style damage, a cast, fading, grain, scratches and dust.

    Ranges are in the module docstring. The target is the clean ``image``.

    Args:
        image: (3,H,W) float RGB in [0, 1] (values outside are clipped).
        seed: an int, or a ``numpy.random.Generator`` (used and advanced).

    Returns:
        ``(damaged, mask)``: (3,H,W) float32 in [0, 1] (8-bit quantised when the JPEG step
        ran) and (1,H,W) float32 in {0, 1} marking the scratches and specks, on the device
        of ``image``.

    Raises:
        ValueError: ``image`` is not a (3,H,W) float tensor.
        TypeError: ``seed`` is neither an int nor a generator.

    Example:
        >>> img = torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(0))
        >>> damaged, mask = exam(img, 7)
        >>> damaged.shape, mask.shape, torch.equal(damaged, exam(img, 7)[0])
        (torch.Size([3, 40, 48]), torch.Size([1, 40, 48]), True)
    """
    array, rng = _to_hwc(image), _rng(seed)
    array = _levels(_cast(_bopbtl(array, rng), rng), rng)
    if rng.random() < GRAIN_PROB:
        array = _grain(array, rng)
    array = np.array(array, dtype=np.float32)  # a writable copy for the marks
    mask = _marks(array, rng, EXAM_MARKS)
    return _to_chw(array, image), _to_chw(mask[..., None], image)


def exam_scratches(image: Tensor, seed: Seed) -> tuple[Tensor, Tensor]:
    """The scratch exam: 2-8 scratches (1-4 px, 70 % bright) and 5-40 specks on the clean photo.

    Args:
        image: (3,H,W) float RGB in [0, 1] (values outside are clipped).
        seed: an int, or a ``numpy.random.Generator`` (used and advanced).

    Returns:
        ``(damaged, mask)``: (3,H,W) float32 in [0, 1], equal to the clipped input outside
        the mask, and (1,H,W) float32 in {0, 1}: 1 where a mark's anti-aliased coverage
        exceeds 0.1 (every changed pixel), on the device of ``image``.

    Raises:
        ValueError: ``image`` is not a (3,H,W) float tensor.
        TypeError: ``seed`` is neither an int nor a generator.

    Example:
        >>> img = torch.full((3, 64, 64), 0.5)
        >>> damaged, mask = exam_scratches(img, 0)
        >>> bool(mask.sum() > 0), torch.equal(damaged * (1 - mask), img * (1 - mask))
        (True, True)
    """
    return _marked(image, seed, SCRATCH_MARKS)


def exam_bands(image: Tensor, seed: Seed) -> tuple[Tensor, Tensor]:
    """The inpainting exam: 1-3 bands 2-16 px wide (70 % bright) and 0-6 large specks.

    Args:
        image: (3,H,W) float RGB in [0, 1] (values outside are clipped).
        seed: an int, or a ``numpy.random.Generator`` (used and advanced).

    Returns:
        ``(damaged, mask)`` as :func:`exam_scratches` returns them: (3,H,W) float32 in
        [0, 1], equal to the clipped input outside the mask, and the exact (1,H,W) mask.

    Raises:
        ValueError: ``image`` is not a (3,H,W) float tensor.
        TypeError: ``seed`` is neither an int nor a generator.

    Example:
        >>> img = torch.full((3, 64, 64), 0.5)
        >>> damaged, mask = exam_bands(img, 0)
        >>> bool(mask.sum() > 0), torch.equal(damaged * (1 - mask), img * (1 - mask))
        (True, True)
    """
    return _marked(image, seed, BAND_MARKS)


EXAMS: dict[str, Exam] = {
    "exam": exam,
    "exam-scratches": exam_scratches,
    "exam-bands": exam_bands,
}


def degrade_exam(name: str, image: Tensor, seed: Seed) -> tuple[Tensor, Tensor]:
    """Apply the exam ``name`` (a key of ``EXAMS``) to one clean photo.

    Args:
        name: ``"exam"``, ``"exam-scratches"`` or ``"exam-bands"``.
        image: (3,H,W) float RGB in [0, 1].
        seed: an int (e.g. ``daguerre.metrics.evaluate.image_seed``) or a numpy Generator.

    Returns:
        ``(damaged (3,H,W), mask (1,H,W))``, float32 in [0, 1]; the target is ``image``.

    Raises:
        UnknownNameError: ``name`` is not an exam; the message lists the exams.

    Example:
        >>> img = torch.full((3, 32, 32), 0.5)
        >>> torch.equal(degrade_exam("exam", img, 3)[0], exam(img, 3)[0])
        True
    """
    if name not in EXAMS:
        raise UnknownNameError("exam", name, list(EXAMS))
    return EXAMS[name](image, seed)


__all__ = [
    "BAND_MARKS",
    "EXAMS",
    "EXAM_MARKS",
    "SCRATCH_MARKS",
    "Exam",
    "Marks",
    "Seed",
    "degrade_exam",
    "exam",
    "exam_bands",
    "exam_scratches",
]
