"""Choose ``MONOCHROME_TOLERANCE`` (daguerre.pipelines.monochrome) on training photos.

For every ``--every``-th photo of ``--clean`` (training photos: never the ones you report),
degrade with ``--preset`` (fixed seed per photo), restore with ``monochrome="off"`` and score
the output as it is and turned neutral gray against the target. Prints, per candidate
median tolerance, the mean PSNR when images whose median :func:`chroma_residual` is at most
the tolerance (and whose 90th percentile is at most ``--high``) are turned gray, and the best
median tolerance.

Usage: python scripts/calibrate_monochrome.py --clean ../shared/data/clean/train [--every 6]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from daguerre.degrade.chain import apply_to_target, run
from daguerre.degrade.presets import build_preset
from daguerre.io.discover import collect_inputs
from daguerre.io.image import read_image
from daguerre.metrics.evaluate import fit_max_side, image_seed
from daguerre.metrics.fidelity import psnr
from daguerre.pipelines.convert import to_gray
from daguerre.pipelines.monochrome import MONOCHROME_TOLERANCE, chroma_residual
from daguerre.pipelines.restore import RestoreOptions, restore_tensor


def _pick(row: dict[str, float], tol: float, high: float) -> float:
    """The row's PSNR when images within (``tol``, ``high``) are turned gray."""
    gray = row["residual"] <= tol and row["residual90"] <= high
    return row["gray"] if gray else row["as_is"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--preset", default="aged")
    parser.add_argument("--every", type=int, default=6)
    parser.add_argument("--max-side", type=int, default=384)
    parser.add_argument("--model", default="restore")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--high", type=float, default=MONOCHROME_TOLERANCE[1], help="90th-percentile limit"
    )
    args = parser.parse_args()
    paths, _ = collect_inputs([args.clean], recursive=True)
    options = RestoreOptions(model=args.model, monochrome="off")
    rows = []
    for path in paths[1 :: args.every]:
        clean = fit_max_side(read_image(path).rgb, args.max_side)
        gen = torch.Generator().manual_seed(image_seed(args.seed, path.stem))
        op = build_preset(args.preset)
        hit = run(op, clean[None], gen)
        target = apply_to_target(op, clean[None], hit.params)[0]
        out = restore_tensor(hit.image[0], options)
        rows.append(
            {
                "residual": float(chroma_residual(hit.image[0])),
                "residual90": float(chroma_residual(hit.image[0], 0.9)),
                "as_is": float(psnr(out, target)),
                "gray": float(psnr(to_gray(out), target)),
            }
        )
    high = args.high
    by_tolerance = {}
    for tol in sorted({0.0, *(r["residual"] for r in rows)}):
        scores = [_pick(r, tol, high) for r in rows]
        by_tolerance[round(tol, 5)] = sum(scores) / len(scores)
    best = max(by_tolerance, key=lambda t: by_tolerance[t])
    n = len(rows)
    summary = {
        "images": n,
        "never_gray": sum(r["as_is"] for r in rows) / n,
        "always_gray": sum(r["gray"] for r in rows) / n,
        "oracle": sum(max(r["as_is"], r["gray"]) for r in rows) / n,
        "best_tolerance": best,
        "best": by_tolerance[best],
        "at": {t: by_tolerance[t] for t in by_tolerance if t in (0.0, best)},
    }
    for tol in (0.005, 0.01, 0.015, 0.02, 0.025):
        summary["at"][tol] = sum(_pick(r, tol, high) for r in rows) / n
    summary["turned_gray_at_shipped"] = sum(
        r["residual"] <= MONOCHROME_TOLERANCE[0] and r["residual90"] <= high for r in rows
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
