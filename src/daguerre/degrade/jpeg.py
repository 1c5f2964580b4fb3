"""JPEG compression artefacts, one image at a time through OpenCV.

JPEG works on 8-bit samples, so each image makes a uint8 round trip (quantisation included);
that is inherent to the codec. OpenCV's encoder uses 4:2:0 chroma subsampling, like PIL's
default, which BOPBTL uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from daguerre.degrade.base import Degradation, check_image, randint
from daguerre.types import Tensor

__all__ = ["JPEG", "JPEGParams", "jpeg_roundtrip"]


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode one ``(H,W,3)`` uint8 RGB array at ``quality`` (1..100).

    Example:
        >>> jpeg_roundtrip(np.zeros((8, 8, 3), np.uint8), 90).shape
        (8, 8, 3)
    """
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"OpenCV failed to JPEG-encode a {rgb.shape} image")
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("OpenCV failed to decode the JPEG it just encoded")
    return np.ascontiguousarray(decoded[:, :, ::-1])


@dataclass(frozen=True)
class JPEGParams:
    """Per-image parameters of :class:`JPEG`."""

    quality: Tensor  # (B,) int64, JPEG quality 1..100; above 100 = no compression


class JPEG(Degradation[JPEGParams]):
    """JPEG compression at a random quality.

    A quality above 100 leaves the image untouched (the zero-strength setting).

    Args:
        quality: (min, max) quality, integer uniform, inclusive. BOPBTL (40, 100);
            Real-ESRGAN (30, 95).

    Example:
        >>> op = JPEG(quality=(30, 30))
        >>> img = torch.rand(1, 3, 16, 16)
        >>> out = op.apply(img, op.sample(torch.Generator(), 1))
        >>> tuple(out.shape), bool((out - img).abs().max() > 0)
        ((1, 3, 16, 16), True)
    """

    name = "jpeg"

    def __init__(self, *, quality: tuple[int, int] = (40, 100)) -> None:
        assert 1 <= quality[0] <= quality[1] <= 101, "quality must be (min, max) within 1..101"
        self.quality = quality

    def sample(self, gen: torch.Generator, batch: int) -> JPEGParams:
        """Draw a quality per image."""
        return JPEGParams(quality=randint(gen, batch, *self.quality))

    def apply(self, img: Tensor, params: JPEGParams) -> Tensor:
        """Compress: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1] (8-bit values)."""
        check_image(img)
        todo = [i for i in range(img.shape[0]) if int(params.quality[i]) <= 100]
        if not todo:
            return img.clone()
        out = img.clone()
        rows = torch.tensor(todo, device=img.device)
        pixels = (img[rows] * 255.0).round().clamp(0, 255).to(torch.uint8)
        arrays = pixels.permute(0, 2, 3, 1).cpu().numpy()
        decoded = [
            jpeg_roundtrip(a, int(params.quality[i])) for a, i in zip(arrays, todo, strict=True)
        ]
        back = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).float() / 255.0
        out[rows] = back.to(img.device)
        return out
