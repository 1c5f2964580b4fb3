"""Pixel arrays <-> tensors behind :mod:`daguerre.io.image`.

Pillow images and ``(H, W, C)`` ``uint8``/``uint16`` arrays on one side, float32 tensors in
[0, 1] on the other. ``uint8``/``uint16`` arrays exist only inside :mod:`daguerre.io`
(STYLE.md rule 4).
"""

from __future__ import annotations

import io
import logging

import numpy as np
import torch
from PIL import Image, ImageCms
from torch import Tensor

from daguerre.io._metadata import describe

logger = logging.getLogger(__name__)


def _pil_pixels(image: Image.Image, *, notes: list[str] | None = None) -> tuple[np.ndarray, bool]:
    """Pillow image -> ((H, W, C) uint8/uint16 with C in 1..4, is_gray).

    ``notes`` gets a line when an embedded CMYK profile cannot be used (else it is logged).
    """
    mode = image.mode
    if mode == "CMYK":
        return _cmyk_to_rgb(image, notes), False
    if mode == "F":
        raise ValueError("32-bit float images (mode F) are not supported")
    transparent = "transparency" in image.info
    if mode == "1" or (mode == "L" and transparent):
        image = image.convert("LA" if transparent else "L")
    elif mode not in ("L", "LA", "I", "RGB", "RGBA") and not mode.startswith("I;16"):
        keep_alpha = transparent or "A" in image.getbands()
        image = image.convert("RGBA" if keep_alpha else "RGB")  # P, PA, YCbCr, LAB, ...
    elif mode == "RGB" and transparent:
        image = image.convert("RGBA")
    pixels = np.asarray(image)
    if image.mode == "I":  # 32-bit container of 16-bit data (older Pillow, some TIFFs)
        pixels = np.clip(pixels, 0, 65535)
    if pixels.dtype != np.uint8:
        pixels = pixels.astype(np.uint16)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels, pixels.shape[2] <= 2


def _cmyk_to_rgb(image: Image.Image, notes: list[str] | None = None) -> np.ndarray:
    """CMYK -> (H, W, 3) uint8 RGB: through the embedded ICC profile when there is one."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
            return np.asarray(converted)
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            if notes is None:
                logger.warning("CMYK ICC conversion failed (%s); using the plain formula", exc)
            else:
                notes.append(f"ICC profile (cannot convert CMYK: {describe(exc)}; formula used)")
    cmyk = np.asarray(image).astype(np.float32)
    rgb = (255.0 - cmyk[:, :, :3]) * (255.0 - cmyk[:, :, 3:]) / 255.0  # R = (1-C)(1-K)
    return np.rint(rgb).astype(np.uint8)


def _to_tensors(pixels: np.ndarray) -> tuple[Tensor, Tensor | None]:
    """(H, W, C) uint8/uint16 -> rgb (3, H, W) and alpha (1, H, W) or None, float32 [0, 1]."""
    scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
    values = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1) / scale
    channels = values.shape[0]
    color = values[:1].expand(3, -1, -1) if channels <= 2 else values[:3]
    alpha = values[channels - 1 :] if channels in (2, 4) else None
    return color.contiguous(), None if alpha is None else alpha.contiguous()


def _to_pixels(rgb: Tensor, alpha: Tensor | None, *, bit_depth: int, gray: bool) -> np.ndarray:
    """(3, H, W) float [0, 1] + optional alpha -> (H, W, C) uint8/uint16, C in 1..4."""
    if rgb.dim() == 4 and rgb.shape[0] == 1:
        rgb = rgb[0]
    if rgb.dim() != 3 or rgb.shape[0] != 3:
        raise ValueError(f"rgb must be (3, H, W), got {tuple(rgb.shape)}")
    planes = rgb.detach().float().cpu()
    if gray:  # Rec. 601 luma, as Pillow's convert("L"); exact for R = G = B
        weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        planes = (planes * weights).sum(dim=0, keepdim=True)
    if alpha is not None:
        alpha = alpha.detach().float().cpu().reshape(1, *alpha.shape[-2:])
        if alpha.shape[-2:] != rgb.shape[-2:]:
            raise ValueError(f"alpha {tuple(alpha.shape)} does not match rgb {tuple(rgb.shape)}")
        planes = torch.cat([planes, alpha])
    if not bool(torch.isfinite(planes).all()):
        raise ValueError("image contains NaN or infinite values")
    scale, dtype = (65535.0, np.uint16) if bit_depth == 16 else (255.0, np.uint8)
    levels = torch.round(planes.clamp(0.0, 1.0) * scale).to(torch.int32)
    return np.ascontiguousarray(levels.permute(1, 2, 0).numpy().astype(dtype))
