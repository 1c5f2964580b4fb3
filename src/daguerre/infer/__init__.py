"""Stateless tiled inference: tile planning, feathered blending, device and precision choice.

Example:
    >>> import torch
    >>> from daguerre.infer import TileConfig, run_tiled
    >>> img = torch.rand(1, 3, 40, 30)
    >>> run_tiled(lambda x: x * 0.5, img, TileConfig(tile=16, overlap=4, min_tile=8)).shape
    torch.Size([1, 3, 40, 30])
"""

from __future__ import annotations

from daguerre.infer.device import resolve_device, resolve_precision, set_threads
from daguerre.infer.engine import is_out_of_memory, run_tiled
from daguerre.infer.tiling import Tile, TileConfig, blend_weights, pad_to_min, plan_tiles

__all__ = [
    "Tile",
    "TileConfig",
    "blend_weights",
    "is_out_of_memory",
    "pad_to_min",
    "plan_tiles",
    "resolve_device",
    "resolve_precision",
    "run_tiled",
    "set_threads",
]
