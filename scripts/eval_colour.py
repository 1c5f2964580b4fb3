"""Is colour kept? Colour photos with a toner mixed in, restored with default options.

Each colour photo of ``--clean`` (chroma residual of at least ``--min-colour``: a photo whose
colour is not a function of brightness) gets a warm toner curve mixed in at each
``--fractions`` value, then film grain and a little scan noise. The toner, grain and noise are
written here, apart from ``daguerre.degrade``, so this is no test of our own renderer. The
truth is the colour photo. Reports, per fraction: how many outputs came out fully gray (chroma
under 0.1 of the truth's), the mean ratio of output to truth chroma (mean |Cb, Cr|), how many
inputs ``looks_monochrome`` takes for a print, and PSNR of input and output.

``--calibrate`` instead prints the chroma-residual quantiles of the toned photos and of the
real scans in ``--real``, and how many of each the monochrome limits flag (no restoring).

Usage:
    python scripts/eval_colour.py --clean ../shared/data/clean/val --max-side 384
    python scripts/eval_colour.py --clean ../shared/data/clean/train --every 5 --calibrate \
        --real ../shared/data/old
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from daguerre.io.discover import collect_inputs
from daguerre.io.image import read_image
from daguerre.metrics.evaluate import fit_max_side, image_seed
from daguerre.metrics.fidelity import psnr
from daguerre.pipelines.convert import LUMA
from daguerre.pipelines.monochrome import chroma_residual, looks_monochrome
from daguerre.pipelines.restore import RestoreOptions, restore_tensor

GRAY_RATIO = 0.1  # an output with less than this share of the truth's chroma is "fully gray"


def tone(rgb: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """``(3,H,W)`` [0,1] -> the photo with a warm toner mixed in, grain and scan noise."""
    gen = torch.Generator().manual_seed(seed)
    luma = (torch.tensor(LUMA).view(3, 1, 1) * rgb).sum(0, keepdim=True)
    toned = torch.cat([luma**0.85, 0.9 * luma, 0.75 * luma**1.35]) + 0.03
    grain = 0.02 * torch.randn(1, *rgb.shape[1:], generator=gen)
    mixed = (1 - fraction) * rgb + fraction * toned.clamp(0, 1) + grain
    return (mixed + 0.005 * torch.randn(mixed.shape, generator=gen)).clamp(0, 1)


def chroma(rgb: torch.Tensor) -> float:
    """Mean chroma magnitude sqrt(Cb^2 + Cr^2) of a ``(3,H,W)`` image."""
    luma = (torch.tensor(LUMA).view(3, 1, 1) * rgb).sum(0)
    return float(torch.stack([rgb[2] - luma, rgb[0] - luma]).norm(dim=0).mean())


def _photos(args: argparse.Namespace) -> list[tuple[str, torch.Tensor]]:
    paths, _ = collect_inputs([args.clean], recursive=True)
    out = []
    for path in paths[:: args.every][: args.limit or None]:
        rgb = fit_max_side(read_image(path).rgb, args.max_side)
        if float(chroma_residual(rgb)) >= args.min_colour:
            out.append((path.name, rgb))
    return out


def evaluate(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Per fraction: gray count, mean chroma ratio, flagged inputs, PSNR in and out."""
    options = RestoreOptions(model=args.model)
    photos = _photos(args)
    table: dict[str, dict[str, float]] = {}
    for fraction in args.fractions:
        ratios, flagged, psnr_in, psnr_out = [], 0, [], []
        for name, truth in photos:
            toned = tone(truth, fraction, image_seed(args.seed, name))
            out = restore_tensor(toned, options)
            ratios.append(chroma(out) / max(chroma(truth), 1e-6))
            flagged += int(bool(looks_monochrome(toned)))
            psnr_in.append(float(psnr(toned[None], truth[None])))
            psnr_out.append(float(psnr(out[None], truth[None])))
        table[f"{fraction:g}"] = {
            "photos": len(photos),
            "fully_gray": int(sum(r < GRAY_RATIO for r in ratios)),
            "chroma_ratio": float(np.mean(ratios)),
            "chroma_ratio_min": float(np.min(ratios)),
            "flagged_monochrome": flagged,
            "psnr_input": float(np.mean(psnr_in)),
            "psnr_output": float(np.mean(psnr_out)),
        }
        print(fraction, json.dumps(table[f"{fraction:g}"]), flush=True)
    return table


def calibrate(args: argparse.Namespace) -> None:
    """Chroma-residual quantiles of toned photos and real scans, and what the limits flag."""
    photos = _photos(args)
    for fraction in args.fractions:
        toned = [tone(rgb, fraction, image_seed(args.seed, name)) for name, rgb in photos]
        _report(f"toned {fraction:g}", toned)
    if args.real is not None:
        paths, _ = collect_inputs([args.real], recursive=True)
        _report("real scans", [fit_max_side(read_image(p).rgb, 512) for p in paths])


def _report(label: str, images: list[torch.Tensor]) -> None:
    medians = np.array([float(chroma_residual(x, 0.5)) for x in images])
    flagged = sum(bool(looks_monochrome(x)) for x in images)
    quantiles = np.quantile(medians, [0.1, 0.5, 0.9]).round(4).tolist()
    print(f"{label}: n {len(images)}, flagged {flagged}, median residual q10/50/90 {quantiles}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.3, 0.6, 0.9])
    parser.add_argument("--min-colour", type=float, default=0.02)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--max-side", type=int, default=384)
    parser.add_argument("--model", default="restore")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--real", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the table as JSON")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.calibrate:
        calibrate(args)
        return
    table = evaluate(args)
    if args.out is not None:
        args.out.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
