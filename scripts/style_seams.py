"""How far tiled stylization departs from the whole-image result, per tile/overlap setting.

A tile grid shows where neighbouring tiles disagree; with statistics fixed for the whole image
the whole-image output is the reference, so ``|tiled - whole|`` (mean, 99th percentile, max)
measures the seams directly. The defaults reproduce the measurement behind
``daguerre.pipelines.stylize.MODE_TILES`` for painting mode.

Usage:
    python scripts/style_seams.py --style ../shared/data/styles/udnie.jpg \\
        --image ../shared/data/content/tubingen.jpg --tiles 256/32 512/128 768/192
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from daguerre.io.image import read_image
from daguerre.pipelines.stylize import StylizeOptions, stylize_tensor

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default=str(SHARED / "styles" / "udnie.jpg"))
    parser.add_argument("--image", type=Path, default=SHARED / "content" / "tubingen.jpg")
    parser.add_argument("--tiles", nargs="+", default=["256/32", "512/128", "768/192"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    img = read_image(args.image).rgb
    whole = stylize_tensor(img, StylizeOptions(style=args.style, tile=0))
    print(f"{args.image.name} {tuple(img.shape[-2:])}, style {Path(args.style).name}")
    for spec in args.tiles:
        tile, overlap = (int(v) for v in spec.split("/"))
        start = time.perf_counter()
        out = stylize_tensor(img, StylizeOptions(style=args.style, tile=tile, overlap=overlap))
        seconds = time.perf_counter() - start
        diff = (out - whole).abs().flatten()
        print(
            f"tile {tile:4d} overlap {overlap:3d}: |tiled - whole| mean {diff.mean():.4f} "
            f"p99 {diff.quantile(0.99):.4f} max {diff.max():.3f} ({seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
