"""Age photographs: a named, seeded degradation preset applied to the whole image.

``age`` and ``age_with_mask`` take what users have at hand (a Pillow image, a float tensor or
a NumPy array) and give back the same kind of thing. ``age_tensor`` is the tensor core the CLI
uses. The whole image is processed at full size in one go: the degradation ops do not depend
on image size, but memory grows with it (roughly 20 float32 copies of the image at peak).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image

from daguerre.degrade.base import Degradation, generator_for
from daguerre.degrade.chain import describe, run
from daguerre.degrade.presets import build_preset
from daguerre.io.image import to_pil
from daguerre.pipelines.convert import from_any, to_like
from daguerre.types import Tensor

ImageLike = TypeVar("ImageLike", Tensor, np.ndarray, Image.Image)

__all__ = ["AgeResult", "age", "age_tensor", "age_with_mask", "file_seed"]


@dataclass(frozen=True)
class AgeResult:
    """Output of :func:`age_tensor`.

    Attributes:
        image: ``(B,3,H,W)`` float32 in [0,1], the aged image.
        mask: ``(B,1,H,W)`` float32 in [0,1], 1 where physical damage (scratches, dust, ...)
            covers the photo; independent of ``strength``.
        params: JSON-able record of every sampled parameter (replays the result).
    """

    image: Tensor
    mask: Tensor
    params: dict[str, Any]


def file_seed(seed: int, key: str) -> int:
    """A per-file seed from the run's ``seed`` and the file's output name ``key``.

    Seeding from the name rather than the file's position means adding or removing other
    files never changes a file's result. SHA-256 keeps it stable across Python runs.

    Example:
        >>> file_seed(7, "photo") == file_seed(7, "photo") != file_seed(7, "other")
        True
    """
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def age_tensor(
    img: Tensor, op: Degradation[Any], gen: torch.Generator, *, strength: float = 1.0
) -> AgeResult:
    """Degrade a batch with ``op``, drawing all randomness from ``gen``.

    Args:
        img: ``(B,3,H,W)`` float32 in [0,1], any size.
        op: a degradation, e.g. ``build_preset("aged")``.
        gen: CPU generator; the same state gives the same result, bit for bit.
        strength: 0..1 blend between the input (0) and the fully aged image (1).

    Returns:
        The aged image, the damage mask and the sampled parameters.

    Example:
        >>> out = age_tensor(torch.full((1, 3, 32, 32), 0.5), build_preset("aged"),
        ...                  generator_for(0))
        >>> out.image.shape, out.mask.shape
        (torch.Size([1, 3, 32, 32]), torch.Size([1, 1, 32, 32]))
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    result = run(op, img, gen)
    image = result.image
    if strength < 1.0:
        image = torch.lerp(img, image, strength).clamp_(0.0, 1.0)
    return AgeResult(image=image, mask=result.mask, params=describe(result.params))


def age(
    image: ImageLike, *, preset: str = "aged", seed: int = 0, strength: float = 1.0
) -> ImageLike:
    """Make a photo look old; returns the same kind and size of image it was given.

    Args:
        image: a Pillow image (alpha kept, ``L`` stays ``L``), a float32 tensor ``(3,H,W)``
            or ``(B,3,H,W)`` in [0,1], or a NumPy ``(H,W,3)`` or ``(H,W,4)`` array (uint8 or
            uint16 -> same dtype back; float in [0,1] -> float back; alpha kept).
        preset: degradation preset name (see ``daguerre.degrade.presets.preset_names()``).
        seed: the same seed gives the same result.
        strength: 0..1 blend between the input and the fully aged image.

    Raises:
        UnknownNameError: unknown preset (the message lists the valid names).
        ValueError: unsupported shape, dtype or value range.

    Example:
        >>> old = age(Image.new("RGB", (48, 32), (200, 180, 160)), seed=3)
        >>> old.size, old.mode
        ((48, 32), 'RGB')
    """
    return age_with_mask(image, preset=preset, seed=seed, strength=strength)[0]


def age_with_mask(
    image: ImageLike, *, preset: str = "aged", seed: int = 0, strength: float = 1.0
) -> tuple[ImageLike, ImageLike]:
    """Like :func:`age`, also returning where physical damage was drawn.

    Returns:
        ``(aged, mask)``. The mask is 1 (or 255 / 65535) on damaged pixels: a ``(B,1,H,W)`` or
        ``(1,H,W)`` tensor, an ``(H,W)`` array of the input's dtype, or a Pillow ``L`` image.

    Example:
        >>> old, mask = age_with_mask(np.zeros((32, 40, 3), np.uint8), preset="aged")
        >>> old.shape, old.dtype, mask.shape
        ((32, 40, 3), dtype('uint8'), (32, 40))
    """
    op = build_preset(preset)
    rgb, alpha = from_any(image)  # (3,H,W) or (B,3,H,W) float32 [0,1]
    batched = rgb.ndim == 4
    out = age_tensor(rgb if batched else rgb[None], op, generator_for(seed), strength=strength)
    aged, mask = (out.image, out.mask) if batched else (out.image[0], out.mask[0])
    return to_like(image, aged, alpha), _mask_like(image, mask)


def _mask_like(original: Any, mask: Tensor) -> Any:
    """``(1,H,W)``/``(B,1,H,W)`` float mask -> the kind of ``original`` (see age_with_mask)."""
    if isinstance(original, Tensor):
        return mask
    if isinstance(original, np.ndarray):
        values = mask[0].numpy()
        if np.issubdtype(original.dtype, np.integer):
            top = float(np.iinfo(original.dtype).max)
            return np.rint(values * top).astype(original.dtype)
        return values.astype(original.dtype)
    return to_pil(mask.expand(3, -1, -1)).convert("L")
