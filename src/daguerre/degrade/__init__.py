"""Synthetic photo degradation: pure, seeded ops that return what they applied.

Every op samples its parameters from an explicit ``torch.Generator`` and applies them
deterministically (see :mod:`daguerre.degrade.base`). Composites live in
:mod:`daguerre.degrade.chain`, named recipes in :mod:`daguerre.degrade.presets`: the user
presets (``PRESETS``, ``preset_names()``) and the training mixes (``TRAINING_MIXES``), both
built by name with ``build_preset``.

Example:
    >>> import torch
    >>> from daguerre.degrade import build_preset, run
    >>> result = run(build_preset("aged"), torch.rand(1, 3, 32, 32), torch.Generator())
    >>> tuple(result.image.shape)
    (1, 3, 32, 32)
"""

from __future__ import annotations

from typing import Any

from daguerre.degrade.base import DefectDegradation, Degradation
from daguerre.degrade.chain import (
    DegradeResult,
    Maybe,
    OneOf,
    Sequential,
    Shuffle,
    apply_to_target,
    describe,
    replay,
    run,
)

__all__ = [
    "DefectDegradation",
    "DegradeResult",
    "Degradation",
    "Maybe",
    "OneOf",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "Sequential",
    "Shuffle",
    "TRAINING_MIXES",
    "apply_to_target",
    "build_preset",
    "describe",
    "preset_names",
    "replay",
    "run",
]

_PRESET_NAMES = ("PRESETS", "PRESET_DESCRIPTIONS", "TRAINING_MIXES", "build_preset", "preset_names")


def __getattr__(name: str) -> Any:
    """Import the presets lazily (they pull in every op module)."""
    if name in _PRESET_NAMES:
        from daguerre.degrade import presets

        return getattr(presets, name)
    raise AttributeError(f"module 'daguerre.degrade' has no attribute '{name}'")
