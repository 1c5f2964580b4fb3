"""`make demo`: age a public-domain sample photo with the damage engine, restore it, write a sheet.

The sample is `skimage.data.astronaut()` (NASA, public domain), shipped inside scikit-image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from daguerre.degrade.base import generator_for
from daguerre.degrade.presets import build_preset
from daguerre.io.image import from_array, to_pil, write_image
from daguerre.pipelines.age import age_tensor


def sample_photo() -> torch.Tensor:
    """The astronaut photo as ``(3,512,512)`` float32 in [0,1]."""
    from skimage import data

    return from_array(data.astronaut())


def sheet(images: list[tuple[str, torch.Tensor]], out: Path) -> None:
    """Side-by-side labelled panels."""
    panels = [to_pil(img) for _, img in images]
    w, h = panels[0].size
    canvas = Image.new("RGB", (w * len(panels), h + 24), "white")
    draw = ImageDraw.Draw(canvas)
    for i, ((label, _), panel) in enumerate(zip(images, panels, strict=True)):
        canvas.paste(panel, (i * w, 24))
        draw.text((i * w + 6, 6), label, fill="black")
    canvas.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--preset", default="aged")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    clean = sample_photo()
    aged = age_tensor(clean[None], build_preset(args.preset), generator_for(args.seed)).image[0]
    write_image(args.out / "astronaut.png", clean)
    write_image(args.out / "astronaut_aged.png", aged)
    panels = [("original", clean), (f"aged ({args.preset}, seed {args.seed})", aged)]

    from daguerre.errors import CheckpointNotFoundError
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    try:
        restored = restore_tensor(aged, RestoreOptions())
    except CheckpointNotFoundError as err:
        print(f"note: no restoration model shipped yet ({err}); skipping restore")
    else:
        write_image(args.out / "astronaut_restored.png", restored)
        panels.append(("restored (daguerre restore)", restored))
    sheet(panels, args.out / "sheet.png")
    for path in sorted(args.out.iterdir()):
        print(f"wrote {path}")
    print(f"before/after sheet: {args.out / 'sheet.png'}")


if __name__ == "__main__":
    main()
