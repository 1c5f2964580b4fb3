"""Scratch masks touched up by hand in the web page, without any Gradio.

The detector misses some damage and marks some clean detail (see the scratch detector's model
card), so the page lets a user correct its mask before inpainting. :func:`find_defects` runs
the detector on one upload and returns a :class:`Detected` (the full-resolution mask, kept on
the server) plus a preview of the photo with the marked pixels tinted red
(:func:`tinted_preview`). On that preview the user paints with two brushes: red over damage
the detector missed (:data:`ADD`), green over marks on real detail (:data:`KEEP`).
:func:`touched_mask` turns the strokes into the final full-resolution mask:

* detected pixels stay unless a green stroke covers them, so thin cracks keep their
  full-resolution shape instead of the preview's coarse pixels;
* red strokes are added, enlarged from the preview.

Masks here are ``(1,H,W)`` float32 {0, 1} at the photo's size (1 = damaged), the contract of
:func:`daguerre.pipelines.restore.restore_tensor` ``mask=``; stroke layers are ``(h,w,4)``
uint8 RGBA as the image editor returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.io.image import LoadedImage
from daguerre.types import Tensor

__all__ = [
    "ADD",
    "KEEP",
    "Detected",
    "find_defects",
    "preview_size",
    "shrink_mask",
    "strokes",
    "tinted_preview",
    "touched_mask",
]

ADD = "#ff0000"
"""Brush colour for damage the detector missed."""
KEEP = "#00c000"
"""Brush colour for marks on real detail (not damage)."""
TINT = (1.0, 0.0, 0.0)
"""Colour blended over marked pixels in the preview."""


@dataclass(frozen=True)
class Detected:
    """The detector's mask for one upload, kept between "find" and "restore".

    Attributes:
        path: the upload it was found on (a restore with another upload ignores it).
        mask: ``(1,H,W)`` bool at the photo's size.
        preview: ``(h, w)`` of the paint layer shown in the page.
    """

    path: str
    mask: Tensor
    preview: tuple[int, int]


def preview_size(height: int, width: int, side: int) -> tuple[int, int]:
    """``(h, w)`` with the longest side at most ``side``, aspect kept (never enlarged).

    Example:
        >>> preview_size(3000, 4000, 1000)
        (750, 1000)
    """
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def shrink_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """``(1,H,W)`` bool -> ``(h,w)`` bool: a preview pixel is marked if any pixel under it is.

    A max over each preview pixel's footprint keeps hairline cracks visible when shrunk.
    """
    pooled = F.adaptive_max_pool2d(mask[None].float(), size)
    return pooled[0, 0] > 0.5


def _enlarge(small: Tensor, size: tuple[int, int]) -> Tensor:
    """``(h,w)`` bool -> ``(H,W)`` bool, nearest neighbour."""
    return F.interpolate(small[None, None].float(), size=size, mode="nearest")[0, 0] > 0.5


def tinted_preview(photo: np.ndarray, marked: Tensor, opacity: float = 0.6) -> np.ndarray:
    """``(h,w,3)`` uint8 photo with ``(h,w)`` bool ``marked`` pixels blended towards red."""
    out = photo.astype(np.float32)
    tint = np.array(TINT, dtype=np.float32) * 255
    where = marked.numpy()
    out[where] = (1 - opacity) * out[where] + opacity * tint
    return out.round().astype(np.uint8)


def strokes(layers: list[np.ndarray], size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """``(add, keep)``, each ``(h,w)`` bool: pixels under red and under green strokes.

    Args:
        layers: ``(h',w',4)`` uint8 RGBA stroke layers (alpha > 0 where painted); resized to
            ``size`` (nearest) when the editor returns another size.
        size: the preview ``(h, w)``.
    """
    add = torch.zeros(size, dtype=torch.bool)
    keep = torch.zeros(size, dtype=torch.bool)
    for layer in layers:
        array = np.asarray(layer)
        if array.ndim != 3 or array.shape[2] != 4:
            continue  # not a stroke layer
        rgba = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).float()
        if tuple(rgba.shape[1:]) != size:
            rgba = F.interpolate(rgba[None], size=size, mode="nearest")[0]
        red, green, alpha = rgba[0], rgba[1], rgba[3]
        add |= (alpha > 0) & (red > green)
        keep |= (alpha > 0) & (green > red)
    return add, keep


def touched_mask(
    detected: Detected | None, layers: list[np.ndarray], size: tuple[int, int]
) -> Tensor:
    """The full-resolution mask after the user's strokes.

    Args:
        detected: the detector's mask for this photo, or ``None`` (only red strokes count).
        layers: the image editor's stroke layers.
        size: the photo's ``(H, W)``.

    Returns:
        ``(1,H,W)`` float32 {0, 1}: detected pixels not under a green stroke, plus every pixel
        under a red stroke.
    """
    preview = detected.preview if detected is not None else _layer_size(layers, size)
    add, keep = strokes(layers, preview)
    out = _enlarge(add, size)
    if detected is not None:
        out |= detected.mask[0] & ~_enlarge(keep, size)
    return out[None].float()


def _layer_size(layers: list[np.ndarray], fallback: tuple[int, int]) -> tuple[int, int]:
    shape = np.asarray(layers[0]).shape[:2] if layers else fallback
    return int(shape[0]), int(shape[1])


def find_defects(
    loaded: LoadedImage,
    path: str | Path,
    *,
    model: str,
    threshold: float | None,
    preview_side: int,
    tile: int = 512,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Detected, np.ndarray]:
    """Detect damage on one photo; its mask and the preview paint layer showing it.

    Args:
        loaded: the decoded upload.
        path: the upload's path (recorded in the result).
        model: detector name or folder.
        threshold: damage probability to mark, or ``None`` for the detector's calibrated
            inpainting threshold.
        preview_side: longest side of the paint layer, pixels.
        tile: detector tile side.
        device: torch device.
        progress: called as ``progress(done, total)`` per tile.

    Returns:
        The :class:`Detected` mask and the ``(h,w,3)`` uint8 preview with its pixels tinted.
    """
    from daguerre.pipelines.scratches import (
        DetectOptions,
        defect_mask,
        detect_defects,
        detect_threshold,
    )

    options = DetectOptions(
        model=model, threshold=threshold, for_restore=True, tile=tile, device=device
    )
    prob = detect_defects(loaded.rgb, options, progress=progress)
    mask = defect_mask(prob, detect_threshold(options), options.dilate) > 0.5
    height, width = loaded.rgb.shape[-2:]
    preview = preview_size(height, width, preview_side)
    detected = Detected(path=str(path), mask=mask, preview=preview)
    rgb = F.interpolate(loaded.rgb[None], size=preview, mode="bilinear", antialias=True)[0]
    photo = (rgb.clamp(0.0, 1.0) * 255).round().byte().permute(1, 2, 0).numpy()
    return detected, tinted_preview(photo, shrink_mask(mask, preview))
