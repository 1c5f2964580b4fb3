"""Score scratch detection and inpainting on held-out synthetic damage (issue: scratches).

1. Detection: clean/val photos + the ``scratches-only`` preset (fixed seed per photo), pixel
   F1 / IoU of the detector's mask (its calibrated threshold, no dilation) against the
   engine's mask. ``--preset exam-scratches`` uses the scratch exam instead
   (:mod:`daguerre.metrics.exam`, damage written apart from our engine, never trained on)
   and its exact masks; ``--preset exam-bands`` the inpainting exam (bands 2-16 px wide,
   mostly opaque: what only a fill can restore); parts 2 and 3 are otherwise the same.
2. Inpainting: the same damaged photos, PSNR inside the true mask for our restorer given the
   mask vs OpenCV Telea with the same mask, and for ``--scratches auto`` (the detector's mask
   at the restore threshold, grown 2 px: what a user gets) at each restore threshold.
3. Whole-image PSNR on the ``aged`` preset with ``--scratches auto`` vs ``off`` (and with the
   engine's true mask, dilated the same way: what a perfect detector would give).

Usage: python scripts/eval_scratch.py --clean ../shared/data/clean/val [--limit N] [--max-side 512]
       [--preset scratches-only|exam-scratches|exam-bands]

Every photo of the folder by default (clean/val: 137); ``--limit N`` takes the first N in
sorted order (clean/val's first 40 are the Set5/Set14/McMaster test images, the hardest).

``--scales 1,1.5`` runs the detector at those input scales (default: its own).
``--thresholds 0.3,0.5,0.7`` also prints detection scores and ``aged`` PSNR with ``auto`` at
other probability thresholds (choose one on ``clean/train`` photos, never on the photos you
report); ``--detect-only`` skips parts 2 and 3, ``--no-aged`` part 3.
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
from daguerre.metrics.exam import EXAMS, degrade_exam
from daguerre.metrics.fidelity import psnr
from daguerre.pipelines.baseline import telea_inpaint
from daguerre.pipelines.restore import RestoreOptions, restore_tensor
from daguerre.pipelines.scratches import (
    DetectOptions,
    defect_mask,
    detect_defects,
    detect_threshold,
)


def masked_psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR over the pixels where ``mask`` (1,H,W) is 1."""
    weight = mask.expand_as(a)
    mse = float(((a - b) ** 2 * weight).sum() / weight.sum().clamp_min(1))
    return 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-10))).item()


def scratched(preset: str, clean: torch.Tensor, seed: int) -> tuple[torch.Tensor, ...]:
    """``(damaged, true mask (1,H,W) in {0,1}, target)`` for a scratch preset or exam."""
    if preset in EXAMS:
        damaged, mask = degrade_exam(preset, clean, seed)
        return damaged, mask, clean
    op = build_preset(preset)
    hit = run(op, clean[None], torch.Generator().manual_seed(seed))
    target = apply_to_target(op, clean[None], hit.params)[0]
    return hit.image[0], (hit.mask[0] > 0.25).float(), target


def _scores(tally: dict[str, float]) -> dict[str, float]:
    tp, fp, fn = tally["tp"], tally["fp"], tally["fn"]
    return {
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "iou": tp / max(tp + fp + fn, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument(
        "--preset",
        default="scratches-only",
        choices=["scratches-only", "exam-scratches", "exam-bands"],
        help="damage for parts 1-2: our preset, or an exam with its exact masks",
    )
    parser.add_argument("--limit", type=int, default=0, help="first N photos; 0: all")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="restore")
    parser.add_argument("--detector", default="scratch")
    parser.add_argument("--threshold", type=float, help="default: the detector's calibrated one")
    parser.add_argument(
        "--restore-threshold", type=float, help="for aged auto; default: the detector's own"
    )
    parser.add_argument("--thresholds", default="", help="extra thresholds, e.g. 0.3,0.7")
    parser.add_argument("--detect-only", action="store_true")
    parser.add_argument("--no-aged", action="store_true", help="skip part 3")
    parser.add_argument("--precision", default="auto", help="detector: auto, fp32 or bf16")
    parser.add_argument(
        "--scales", default="", help="detector input scales, e.g. 1,1.5; default: its own"
    )
    args = parser.parse_args()
    if args.threshold is None:
        args.threshold = detect_threshold(DetectOptions(model=args.detector))
    if args.restore_threshold is None:
        restoring = DetectOptions(model=args.detector, for_restore=True)
        args.restore_threshold = detect_threshold(restoring)
    extra = {float(t) for t in args.thresholds.split(",") if t}
    sweep = sorted({args.threshold, *extra})
    restore_sweep = sorted({args.restore_threshold, *extra})
    swept = {t: {"tp": 0.0, "fp": 0.0, "fn": 0.0} for t in sweep}
    paths, _ = collect_inputs([args.clean], recursive=True)
    inside: dict[str, list[float]] = {"ours": [], "telea": [], "input": []}
    inside_by: dict[float, list[float]] = {t: [] for t in restore_sweep}
    aged: dict[str, list[float]] = {"auto": [], "off": [], "true_mask": [], "input": []}
    aged_by: dict[float, list[float]] = {t: [] for t in restore_sweep}
    scales = tuple(float(s) for s in args.scales.split(",") if s) or None
    detect = DetectOptions(model=args.detector, dilate=0, scales=scales, precision=args.precision)
    restore = RestoreOptions(model=args.model)
    paths = paths[: args.limit] if args.limit > 0 else paths
    for path in paths:
        clean = fit_max_side(read_image(path).rgb, args.max_side)
        damaged, truth, target = scratched(args.preset, clean, image_seed(args.seed, path.stem))
        prob = detect_defects(damaged, detect)
        for t, tally in swept.items():
            pred = prob > t
            tally["tp"] += float((pred & (truth > 0)).sum())
            tally["fp"] += float((pred & (truth == 0)).sum())
            tally["fn"] += float((~pred & (truth > 0)).sum())
        if args.detect_only:
            continue
        if truth.sum() > 0:
            ours = restore_tensor(damaged, restore, mask=truth)
            inside["ours"].append(masked_psnr(ours, target, truth))
            inside["telea"].append(masked_psnr(telea_inpaint(damaged, truth), target, truth))
            inside["input"].append(masked_psnr(damaged, target, truth))
            for t in restore_sweep:
                auto = restore_tensor(damaged, restore, mask=defect_mask(prob, t, 2))
                inside_by[t].append(masked_psnr(auto, target, truth))
        if args.no_aged:
            continue
        op = build_preset("aged")
        gen = torch.Generator().manual_seed(image_seed(args.seed + 1, path.stem))
        old = run(op, clean[None], gen)
        target = apply_to_target(op, clean[None], old.params)[0]
        prob = detect_defects(
            old.image[0],
            DetectOptions(model=args.detector, scales=scales, precision=args.precision),
        )
        for t in restore_sweep:
            mask = defect_mask(prob, t, 2)
            score = float(psnr(restore_tensor(old.image[0], restore, mask=mask), target))
            aged_by[t].append(score)
            if t == args.restore_threshold:
                aged["auto"].append(score)
        aged["off"].append(float(psnr(restore_tensor(old.image[0], restore), target)))
        true_mask = defect_mask(old.mask[0], 0.25, 2)  # the engine's mask, dilated like auto's
        fixed = restore_tensor(old.image[0], restore, mask=true_mask)
        aged["true_mask"].append(float(psnr(fixed, target)))
        aged["input"].append(float(psnr(old.image[0], target)))
    result = {
        "images": len(paths),
        "preset": args.preset,
        "threshold": args.threshold,
        "restore_threshold": args.restore_threshold,
        "detection": _scores(swept[args.threshold]),
        "detection_by_threshold": {str(t): _scores(tally) for t, tally in swept.items()},
        "psnr_inside_mask": {k: sum(v) / max(len(v), 1) for k, v in inside.items()},
        "psnr_inside_mask_auto_by_threshold": {
            str(t): sum(v) / max(len(v), 1) for t, v in inside_by.items()
        },
        "aged_whole_image_psnr": {k: sum(v) / max(len(v), 1) for k, v in aged.items()},
        "aged_auto_by_threshold": {str(t): sum(v) / max(len(v), 1) for t, v in aged_by.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
