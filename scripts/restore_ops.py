"""Where a restorer gains and loses: PSNR per single degradation (and on undamaged photos).

Each op is applied alone, at a fixed strength, to the first ``--limit`` photos of a clean
folder (seeded per photo); the table gives the mean PSNR of the input, the classical baseline
(NLM + unsharp) and the model against the clean photo. A model that scores below the input on
``none`` or on mild ops changes what it should leave alone.

Usage: python scripts/restore_ops.py --clean ../shared/data/clean/val [--limit 20] [-m restore]
[--photo-type auto|print|digital]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from daguerre.degrade.blur import GaussianBlur
from daguerre.degrade.chain import run
from daguerre.degrade.jpeg import JPEG
from daguerre.degrade.noise import GaussianNoise, SaltPepper, SpeckleNoise
from daguerre.degrade.resize import DownUp
from daguerre.io.discover import collect_inputs
from daguerre.io.image import read_image
from daguerre.metrics.evaluate import fit_max_side
from daguerre.metrics.fidelity import psnr
from daguerre.pipelines.baseline import classical_restore
from daguerre.pipelines.restore import RestoreOptions, restore_tensor

OPS: dict[str, Any] = {
    "none": None,
    "gauss25": GaussianNoise(sigma=(25, 25)),
    "gauss50": GaussianNoise(sigma=(50, 50)),
    "speckle25": SpeckleNoise(sigma=(25, 25)),
    "saltpepper": SaltPepper(),
    "blur2": GaussianBlur(sizes=(7,), sigma=(2.0, 2.0)),
    "downup0.5": DownUp(scale=(0.5, 0.5)),
    "jpeg50": JPEG(quality=(50, 50)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--max-side", type=int, default=384)
    parser.add_argument("--model", "-m", default="restore")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--photo-type", default="auto", choices=["auto", "print", "digital"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths, _ = collect_inputs([args.clean])
    photos = [fit_max_side(read_image(p).rgb, args.max_side) for p in paths[: args.limit]]
    options = RestoreOptions(model=args.model, photo_type=args.photo_type)
    print(f"{'op':<11} {'input':>6} {'baseline':>8} {'ours':>6}   ({len(photos)} photos)")
    for name, op in OPS.items():
        scores: dict[str, list[float]] = {"input": [], "baseline": [], "ours": []}
        for index, clean in enumerate(photos):
            gen = torch.Generator().manual_seed(index)
            degraded = clean if op is None else run(op, clean[None], gen).image[0]
            scores["input"].append(float(psnr(degraded, clean)))
            scores["baseline"].append(float(psnr(classical_restore(degraded), clean)))
            scores["ours"].append(float(psnr(restore_tensor(degraded, options), clean)))
        mean = {k: sum(v) / len(v) for k, v in scores.items()}
        print(f"{name:<11} {mean['input']:>6.2f} {mean['baseline']:>8.2f} {mean['ours']:>6.2f}")


if __name__ == "__main__":
    main()
