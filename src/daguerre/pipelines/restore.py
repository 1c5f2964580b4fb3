"""Restoration pipeline: a scanned photo in, a restored photo of exactly the same size out.

The generator runs tile by tile (bounded memory at any size, feathered overlaps, no seams);
``strength`` blends between the input (0) and the full restoration (1); gray photos stay gray.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from daguerre.infer import TileConfig, resolve_device, resolve_precision, run_tiled
from daguerre.pipelines.convert import from_any, looks_gray, to_gray, to_like

ImageT = TypeVar("ImageT")

DEFAULT_MODEL = "restore"


@dataclass(frozen=True)
class RestoreOptions:
    """How to restore.

    Args:
        strength: 0 returns the input, 1 the full restoration; in between a linear blend.
        model: a shipped model name or a model folder (e.g. a training run's ``best/``).
        tile: tile side in pixels (0 = whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        precision: "auto" (fp16 on CUDA, fp32 elsewhere), "fp32", "fp16", "bf16".
    """

    strength: float = 1.0
    model: str = DEFAULT_MODEL
    tile: int = 512
    overlap: int = 32
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {self.strength}")


@functools.lru_cache(maxsize=4)
def _load(model: str, device: str) -> tuple[torch.nn.Module, int]:
    from daguerre.weights import load_model

    net, config = load_model(model)
    return net.to(torch.device(device)).eval(), config.pad_multiple


def restore_tensor(
    rgb: torch.Tensor, options: RestoreOptions | None = None, *, progress: Any = None
) -> torch.Tensor:
    """Restore a ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0,1] image; same shape out.

    Example:
        >>> out = restore_tensor(torch.rand(3, 40, 56), RestoreOptions(strength=0.0))
        >>> out.shape
        torch.Size([3, 40, 56])
    """
    options = options or RestoreOptions()
    if options.strength == 0.0:
        return rgb.clone()
    device = resolve_device(options.device)
    net, pad_multiple = _load(str(options.model), str(device))
    cfg = TileConfig(
        tile=options.tile, overlap=options.overlap, min_tile=min(128, max(options.tile, 64))
    )
    restored = run_tiled(
        net,
        rgb,
        cfg,
        pad_multiple=pad_multiple,
        device=device,
        autocast_dtype=resolve_precision(device, options.precision),
        progress=progress,
    ).clamp(0.0, 1.0)
    gray = looks_gray(rgb)
    if bool(gray.any()):
        restored = torch.where(
            gray.view(-1, 1, 1, 1) if restored.ndim == 4 else gray, to_gray(restored), restored
        )
    return torch.lerp(rgb, restored, options.strength)


def restore(
    image: ImageT, *, strength: float = 1.0, model: str | Path = DEFAULT_MODEL, **kwargs: Any
) -> ImageT:
    """Restore a photo given as a PIL image, a float tensor or a numpy array; same type back.

    Args:
        image: PIL image (any mode), ``(3,H,W)``/``(B,3,H,W)`` float32 tensor in [0,1], or an
            ``HxWx3`` numpy array (uint8 in -> uint8 out; float in [0,1] -> float).
        strength: 0..1 blend between input and full restoration.
        model: shipped model name or model folder.
        **kwargs: further :class:`RestoreOptions` fields (tile, overlap, device, precision).

    Returns:
        The restored image, same type and pixel size as ``image``; alpha is carried through.
    """
    options = RestoreOptions(strength=strength, model=str(model), **kwargs)
    rgb, alpha = from_any(image)
    return to_like(image, restore_tensor(rgb, options), alpha)
