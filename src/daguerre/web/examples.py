"""Example photos for the page, made at startup: no third-party image files are shipped.

The source is scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain), an optional
dependency (``pip install daguerre[demo]``); without it the page simply has no examples. The
"old" example is that photo aged by our own engine with a fixed seed, so it is the same on
every start.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

__all__ = ["EXAMPLE_PRESET", "EXAMPLE_SEED", "demo_photo", "make_examples"]

EXAMPLE_PRESET = "aged"
EXAMPLE_SEED = 0


def demo_photo() -> torch.Tensor | None:
    """The public-domain demo photo as a ``(3,512,512)`` float32 [0,1] tensor, or ``None``.

    ``None`` when scikit-image (and its bundled data) is not installed.
    """
    try:
        from skimage import data
    except ImportError:
        return None
    try:
        pixels = data.astronaut()  # (512, 512, 3) uint8
    except (OSError, ValueError) as err:  # data files missing from a trimmed install
        logger.warning("no demo photo: %s", err)
        return None
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255.0


def make_examples(folder: Path) -> list[Path]:
    """Write the example photos into ``folder``; returns them, first the aged one.

    Returns:
        ``[folder/astronaut_old.png, folder/astronaut.png]``, or ``[]`` without scikit-image.
    """
    rgb = demo_photo()
    if rgb is None:
        logger.info("scikit-image not installed: the page has no example photos")
        return []
    from daguerre.degrade.base import generator_for
    from daguerre.degrade.presets import build_preset
    from daguerre.io.image import write_image
    from daguerre.pipelines.age import age_tensor

    folder.mkdir(parents=True, exist_ok=True)
    aged = age_tensor(rgb[None], build_preset(EXAMPLE_PRESET), generator_for(EXAMPLE_SEED)).image[0]
    return [
        write_image(folder / "astronaut_old.png", aged),
        write_image(folder / "astronaut.png", rgb),
    ]
