"""Conversions between the user-facing image types and the internal float tensor contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights


def from_any(image: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """PIL image, float tensor or numpy array -> (float32 [0,1] ``(3,H,W)``, alpha)."""
    if isinstance(image, torch.Tensor):
        if image.dtype != torch.float32 or image.ndim not in (3, 4) or image.shape[-3] != 3:
            raise ValueError(
                "expected a float32 (3,H,W) or (B,3,H,W) tensor, "
                f"got {tuple(image.shape)} {image.dtype}"
            )
        return image, None
    if isinstance(image, np.ndarray):
        from daguerre.io.image import from_array

        alpha = None
        if image.ndim == 3 and image.shape[2] == 4:
            scale = (
                65535.0 if image.dtype == np.uint16 else 255.0 if image.dtype == np.uint8 else 1.0
            )
            alpha = torch.from_numpy(
                np.ascontiguousarray(image[..., 3]).astype(np.float32) / scale
            )[None]
        return from_array(image), alpha
    from PIL import Image

    if isinstance(image, Image.Image):
        from daguerre.io.image import from_pil

        return from_pil(image)
    raise TypeError(
        f"unsupported image type {type(image).__name__}; pass a PIL image, tensor or array"
    )


def to_like(original: Any, rgb: torch.Tensor, alpha: torch.Tensor | None) -> Any:
    """Convert ``rgb`` (and alpha) back to the type of ``original``."""
    if isinstance(original, torch.Tensor):
        return rgb
    if isinstance(original, np.ndarray):
        arr = rgb.permute(1, 2, 0).numpy()
        if alpha is not None:
            arr = np.concatenate([arr, alpha.permute(1, 2, 0).numpy()], axis=2)
        if original.dtype == np.uint8:
            return np.round(arr.clip(0, 1) * 255).astype(np.uint8)
        if original.dtype == np.uint16:
            return np.round(arr.clip(0, 1) * 65535).astype(np.uint16)
        return arr.astype(original.dtype)
    from daguerre.io.image import to_pil

    out = to_pil(rgb, alpha)
    return out.convert("L") if original.mode in ("L", "1") else out


def looks_gray(rgb: torch.Tensor, tol: float = 2.0 / 255.0) -> torch.Tensor:
    """Bool per image (``()`` for 3-D, ``(B,)`` for 4-D input): channels equal within ``tol``."""
    x = rgb if rgb.ndim == 4 else rgb[None]
    spread = (x.amax(dim=1) - x.amin(dim=1)).flatten(1).amax(dim=1)
    out = spread <= tol
    return out if rgb.ndim == 4 else out[0]


def to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """Luma (BT.601) replicated to 3 channels; same shape as ``rgb``."""
    w = torch.tensor(LUMA, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    y = (rgb * w).sum(dim=-3, keepdim=True)
    return y.expand_as(rgb).contiguous()
