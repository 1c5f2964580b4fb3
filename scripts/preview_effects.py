"""Contact sheet of the old-photo effects and defects on a few validation photos.

Usage::

    .venv/bin/python scripts/preview_effects.py OUT.png [--only scratches,dust] [--size 256]
        [--seed 0] [--photos cset5__woman.png,val__69015.jpg] [--data ../shared/data/clean/val]
        [--colour-only]

One row per effect: its name, the effect on each photo (a different seed per photo) and, for
defects, their masks (otherwise a second draw). The first row holds the untouched photos; the last
photo is shown in grey (most old photos are B&W) unless ``--colour-only``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from daguerre.degrade.base import Degradation
from daguerre.degrade.cracks import Cracks
from daguerre.degrade.creases import Creases
from daguerre.degrade.dust import Dust
from daguerre.degrade.exposure import UnevenExposure
from daguerre.degrade.grain import FilmGrain
from daguerre.degrade.paper import PaperTexture
from daguerre.degrade.scratches import Scratches
from daguerre.degrade.stains import Foxing, Silvering, WaterStains
from daguerre.degrade.tears import Tears
from daguerre.degrade.tone import DyeFade, Fade, Sepia, Yellowing
from daguerre.degrade.vignette import Vignette
from daguerre.io import read_image, write_image

LOG = logging.getLogger("preview_effects")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clean" / "val"
DEFAULT_PHOTOS = ("cset5__woman.png", "val__69015.jpg")

EFFECTS: dict[str, Callable[[], Degradation]] = {
    "sepia": Sepia,
    "yellowing": Yellowing,
    "fade": Fade,
    "dye_fade": DyeFade,
    "film_grain": FilmGrain,
    "paper_texture": PaperTexture,
    "vignette": Vignette,
    "uneven_exposure": UnevenExposure,
    "scratches": Scratches,
    "dust": Dust,
    "creases": Creases,
    "cracks": Cracks,
    "tears": Tears,
    "foxing": Foxing,
    "silvering": Silvering,
    "water_stains": WaterStains,
}


def load_photo(path: Path, size: int) -> torch.Tensor:
    """Centre-crop to a square and resize: ``(1,3,size,size)`` float32 in [0,1]."""
    rgb = read_image(path).rgb
    _, height, width = rgb.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = rgb[:, top : top + side, left : left + side].unsqueeze(0)
    return torch.nn.functional.interpolate(crop, size=(size, size), mode="area").clamp(0, 1)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of an (H,W,3) float tile."""
    if not text:
        return tile
    canvas = np.ascontiguousarray(np.round(tile.clip(0, 1) * 255).astype(np.uint8))  # cv2 text
    cv2.putText(canvas, text, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(
        canvas, text, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 80), 1, cv2.LINE_AA
    )
    return canvas.astype(np.float32) / 255.0


def to_hwc(img: torch.Tensor) -> np.ndarray:
    """(1,C,H,W) -> (H,W,3) float32 numpy."""
    arr = img[0].permute(1, 2, 0).numpy()
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr


def effect_row(
    name: str, op: Degradation, photos: list[torch.Tensor], seed: int
) -> list[np.ndarray]:
    """One sheet row: the effect on each photo, then each mask (or, without masks, a 2nd seed)."""
    images, extras = [], []
    for k, photo in enumerate(photos):
        gen = torch.Generator("cpu").manual_seed(seed * 1000 + k)
        out, mask = op.apply_masked(photo, op.sample(gen, 1))
        images.append(label(to_hwc(out), name if k == 0 else ""))
        if mask is not None:
            extras.append(label(to_hwc(mask), "mask"))
        else:
            again = op.apply(photo, op.sample(gen, 1))
            extras.append(label(to_hwc(again), "another draw"))
    return images + extras


def main() -> None:
    """Parse arguments, render the sheet, write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", default="", help="comma-separated effect names")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--photos", default=",".join(DEFAULT_PHOTOS))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--colour-only", action="store_true", help="keep every photo in colour")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = [n for n in args.only.split(",") if n] or list(EFFECTS)
    photos = [load_photo(args.data / name, args.size) for name in args.photos.split(",")]
    if not args.colour_only:  # old photos are mostly B&W: show the last photo as one
        photos[-1] = photos[-1].mean(dim=1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    inputs = [label(to_hwc(p), "input") for p in photos]
    rows = [inputs + inputs]
    for name in names:
        rows.append(effect_row(name, EFFECTS[name](), photos, args.seed))
    sheet = np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0)
    path = write_image(args.out, torch.from_numpy(sheet).permute(2, 0, 1).clamp(0, 1))
    LOG.info("wrote %s (%d effects)", path, len(names))


if __name__ == "__main__":
    main()
