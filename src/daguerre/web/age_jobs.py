"""The Age task of the web page: a degradation preset, seeded per file like the CLI. No Gradio."""

from __future__ import annotations

from collections.abc import Callable

import torch

from daguerre.io.image import LoadedImage
from daguerre.web.jobs import Task

__all__ = ["age_task"]


def age_task(preset: str, seed: int, strength: float) -> Task:
    """A task ageing with ``preset``; each file is seeded from ``(seed, stem)`` like the CLI.

    Raises:
        UnknownNameError: unknown preset.
    """
    from daguerre.degrade.base import generator_for
    from daguerre.degrade.presets import build_preset
    from daguerre.pipelines.age import age_tensor, file_seed

    op = build_preset(preset)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")

    def task(loaded: LoadedImage, stem: str, progress: Callable[[float], None]) -> torch.Tensor:
        gen = generator_for(file_seed(seed, stem))
        return age_tensor(loaded.rgb[None], op, gen, strength=strength).image[0]

    return task
