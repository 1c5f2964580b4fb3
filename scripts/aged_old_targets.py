"""Score the restorer on ``aged`` against the targets used before 2026-12-01.

Until then a sepia-toned colour photo kept its colour target; now ``Sepia.target`` desaturates
it (a toned print's truth is the neutral image under the toner). This replays ``daguerre eval
restore --preset aged`` (same photos, same per-image seeds) with the old targets, so numbers
from before and after the change can be compared.

Usage: python scripts/aged_old_targets.py --clean ../shared/data/clean/val [--model restore]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from daguerre.degrade.chain import Maybe, apply_to_target, run
from daguerre.degrade.presets import build_preset
from daguerre.degrade.tone import Sepia
from daguerre.io.discover import collect_inputs
from daguerre.io.image import read_image
from daguerre.metrics.evaluate import fit_max_side, image_seed
from daguerre.metrics.fidelity import psnr
from daguerre.pipelines.restore import RestoreOptions, restore_tensor


def old_aged():  # noqa: ANN201 - a degradation op tree
    """The ``aged`` preset with sepia leaving the target alone (the old behaviour)."""
    op = build_preset("aged")
    for step in op.steps:
        if isinstance(step, Maybe) and isinstance(step.op, Sepia):
            step.op.applies_to_target = False
    return op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--model", default="restore")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths, _ = collect_inputs([args.clean], recursive=True)
    scores: dict[str, list[float]] = {"input": [], "ours": []}
    for path in paths:
        clean = fit_max_side(read_image(path).rgb, args.max_side)
        op = old_aged()
        hit = run(op, clean[None], torch.Generator().manual_seed(image_seed(args.seed, path.stem)))
        target = apply_to_target(op, clean[None], hit.params)[0]
        out = restore_tensor(hit.image[0], RestoreOptions(model=args.model))
        scores["input"].append(float(psnr(hit.image[0], target)))
        scores["ours"].append(float(psnr(out, target)))
    summary = {k: sum(v) / len(v) for k, v in scores.items()}
    print(json.dumps({"images": len(paths), "psnr": summary}, indent=2))


if __name__ == "__main__":
    main()
