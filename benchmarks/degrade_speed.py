"""Degradation speed: crops per second on one CPU core, for every preset.

Usage: .venv/bin/python benchmarks/degrade_speed.py [--crops 200] [--size 256] [--preset NAME]

Crops come from the first photos of ../shared/data/clean/train when it exists, else from a
generated image. Each crop is degraded as a batch of one, as a dataset worker does. Target:
>= 100 crops/s/core for ``unstructured``. Not a test; it never fails.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from pathlib import Path

import cv2
import torch

from daguerre.degrade.chain import run
from daguerre.degrade.presets import build_preset, preset_names
from daguerre.io.discover import collect_inputs
from daguerre.io.image import read_image
from daguerre.train.data import random_crop

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "clean" / "train"


def load_crops(source: Path, count: int, size: int) -> tuple[list[torch.Tensor], str]:
    """``count`` random ``size`` px crops from up to 8 photos of ``source`` (or a made-up one)."""
    gen = torch.Generator().manual_seed(0)
    photos: list[torch.Tensor] = []
    if source.exists():
        paths, _ = collect_inputs([source])
        photos = [read_image(path).rgb for path in paths[:8]]
    label = f"{len(photos)} photos from {source}"
    if not photos:
        base = torch.rand(1, 3, 32, 32, generator=gen)
        photos = [torch.nn.functional.interpolate(base, size=(768, 1024), mode="bicubic")[0]]
        photos[0] = (photos[0] + 0.05 * torch.rand(photos[0].shape, generator=gen)).clamp(0, 1)
        label = "a generated 1024x768 image"
    crops = [random_crop(photos[i % len(photos)], size, (0.5, 1.0), gen) for i in range(count)]
    return crops, label


def time_preset(name: str, crops: list[torch.Tensor]) -> float:
    """Crops per second for preset ``name`` (one warm-up pass over 10 crops first)."""
    op = build_preset(name)
    for i, crop in enumerate(crops[:10]):
        run(op, crop[None], torch.Generator().manual_seed(10_000 + i))
    start = time.perf_counter()
    for i, crop in enumerate(crops):
        run(op, crop[None], torch.Generator().manual_seed(i))
    return len(crops) / (time.perf_counter() - start)


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=200, help="crops per preset (default 200)")
    parser.add_argument("--size", type=int, default=256, help="crop side in px (default 256)")
    parser.add_argument("--preset", action="append", choices=preset_names(), help="repeatable")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="clean photo folder")
    args = parser.parse_args()

    torch.set_num_threads(1)  # one core, as one DataLoader worker
    cv2.setNumThreads(1)
    crops, label = load_crops(args.source, args.crops, args.size)
    print(f"torch {torch.__version__}, opencv {cv2.__version__}, {platform.processor() or '?'}")
    print(f"git {git_sha()}; {args.crops} crops of {args.size}x{args.size} from {label}; 1 thread")
    print(f"{'preset':<16}{'crops/s':>10}{'ms/crop':>10}")
    for name in args.preset or preset_names():
        rate = time_preset(name, crops)
        print(f"{name:<16}{rate:>10.1f}{1000 / rate:>10.2f}")


if __name__ == "__main__":
    main()
