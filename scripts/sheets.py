"""Render the contact sheets committed under docs/ (labels, grids, thumbnails).

Usage:
    python scripts/sheets.py KIND OUT.png
    (KIND: degrade, scratches, detection, inpainting, vintage, tone, experts, real)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from daguerre.degrade.chain import run
from daguerre.degrade.presets import build_preset, preset_names
from daguerre.io.image import read_image, to_pil

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PHOTOS = ["cset5__woman.png", "cset14__lenna.png", "cset14__barbara.png", "cset14__man.png"]
REAL_OLD = ["1908FamilyPhoto.jpg", "1920sFamilyPhoto.jpg", "1870Girl.jpg", "1920sFarmKid.jpg"]


def thumbnail(rgb: torch.Tensor, side: int) -> Image.Image:
    """Centre-crop to a square and resize to ``side`` pixels."""
    img = to_pil(rgb.clamp(0, 1))
    short = min(img.size)
    left, top = (img.width - short) // 2, (img.height - short) // 2
    return img.crop((left, top, left + short, top + short)).resize((side, side), Image.LANCZOS)


def grid(rows: list[tuple[str, list[Image.Image]]], header: list[str], side: int) -> Image.Image:
    """Labelled grid: one row per (label, images), a header of column titles."""
    label_w, head_h, pad = 130, 22, 4
    cols = max(len(images) for _, images in rows)
    sheet = Image.new(
        "RGB", (label_w + cols * (side + pad), head_h + len(rows) * (side + pad)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for col, title in enumerate(header):
        draw.text((label_w + col * (side + pad) + 4, 5), title, fill="black")
    for row, (label, images) in enumerate(rows):
        y = head_h + row * (side + pad)
        draw.text((6, y + side // 2 - 6), label, fill="black")
        for col, image in enumerate(images):
            sheet.paste(image, (label_w + col * (side + pad), y))
    return sheet


def degrade_sheet(out: Path, side: int = 176, seed: int = 7) -> None:
    """Each preset (rows) on a few clean photos, plus a row of real old scans to compare."""
    photos = [read_image(SHARED / "clean" / "val" / name).rgb for name in PHOTOS]
    rows = [("clean", [thumbnail(p, side) for p in photos])]
    for name in preset_names():
        op = build_preset(name)
        images = []
        for index, photo in enumerate(photos):
            gen = torch.Generator().manual_seed(seed * 1000 + index)
            images.append(thumbnail(run(op, photo[None], gen).image[0], side))
        rows.append((name, images))
    real = [
        thumbnail(read_image(SHARED / "old" / name, max_pixels=None).rgb, side) for name in REAL_OLD
    ]
    rows.append(("REAL old scans", real))
    header = [f"photo {i + 1}" for i in range(len(PHOTOS))]
    out.parent.mkdir(parents=True, exist_ok=True)
    save_small(grid(rows, header, side), out)


def save_small(sheet: Image.Image, out: Path) -> None:
    """PNG with an adaptive 256-colour palette: docs stay small in git."""
    sheet.quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
    ).save(out, optimize=True)


SCRATCHED = [
    "bopb__old_w_scratch__a.png",
    "bopb__old_w_scratch__b.png",
    "bopb__old_w_scratch__c.png",
    "bopb__old_w_scratch__d.png",
    "1908FamilyPhoto.jpg",
    "1920sFamilyPhoto.jpg",
]


def fit(rgb: torch.Tensor, width: int) -> Image.Image:
    """Resize (keeping the aspect ratio) to ``width`` pixels wide."""
    img = to_pil(rgb.clamp(0, 1))
    return img.resize((width, max(1, round(img.height * width / img.width))), Image.LANCZOS)


def scratch_sheet(
    out: Path, width: int = 300, detector: str = "scratch", model: str = "restore"
) -> None:
    """Real scratched scans: input | detected mask | restored with scratches auto | without |
    auto at ``--scratch-threshold 0.3`` (finds fainter cracks, erases more).

    ``detector``, ``model``: shipped names or model folders (to look at candidates).
    """
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor
    from daguerre.pipelines.scratches import (
        DetectOptions,
        defect_mask,
        detect_defects,
        detect_threshold,
    )

    rows = []
    options = DetectOptions(model=detector, for_restore=True)  # what --scratches auto inpaints
    for name in SCRATCHED:
        rgb = read_image(SHARED / "old" / name).rgb
        mask = defect_mask(detect_defects(rgb, options), detect_threshold(options), 2)
        fixed = restore_tensor(rgb, RestoreOptions(model=model), mask=mask)
        plain = restore_tensor(rgb, RestoreOptions(model=model))
        low = RestoreOptions(
            model=model, scratches="auto", scratch_model=detector, scratch_threshold=LOW_THRESHOLD
        )
        panels = [
            fit(rgb, width),
            fit(mask.expand(3, -1, -1), width),
            fit(fixed, width),
            fit(plain, width),
            fit(restore_tensor(rgb, low), width),
        ]
        rows.append((name.removeprefix("bopb__old_w_scratch__")[:14], panels))
    header = [
        "input",
        "detected defects",
        "restore --scratches auto",
        "--scratches off",
        f"auto, --scratch-threshold {LOW_THRESHOLD}",
    ]
    save_small(ragged_grid(rows, header, width), out)


LOW_THRESHOLD = 0.3  # the sheet's last column: what a lower inpainting threshold does

DETECTION_PHOTOS = [
    "cset14__coastguard.png",
    "mcmaster18__3.tif",
    "val__103070.jpg",
    "cset14__monarch.png",
]


def detection_sheet(out: Path, width: int = 300, detector: str = "scratch") -> None:
    """Held-out synthetic damage as ``eval_scratch.py`` draws it (``scratches-only``, 384 px,
    seed 0): damaged photo | the detector's mask scored against the engine's (green = found,
    red = missed, blue = falsely marked), with each photo's pixel F1."""
    from daguerre.metrics.evaluate import fit_max_side, image_seed
    from daguerre.pipelines.scratches import DetectOptions, detect_defects, detect_threshold

    options = DetectOptions(model=detector, dilate=0)
    threshold = detect_threshold(options)
    rows = []
    for name in DETECTION_PHOTOS:
        clean = fit_max_side(read_image(SHARED / "clean" / "val" / name).rgb, 384)
        stem = Path(name).stem
        gen = torch.Generator().manual_seed(image_seed(0, stem))
        hit = run(build_preset("scratches-only"), clean[None], gen)
        truth = hit.mask[0, 0] > 0.25
        found = detect_defects(hit.image[0], options)[0] > threshold
        scored = hit.image[0] * 0.45
        for channel, where in ((1, truth & found), (0, truth & ~found), (2, found & ~truth)):
            scored[channel][where] = 1.0
        f1 = 2 * float((truth & found).sum()) / max(float(truth.sum() + found.sum()), 1.0)
        label = f"{stem.split('__')[-1][:10]} F1 {f1:.2f}"
        rows.append((label, [fit(hit.image[0], width), fit(scored, width)]))
    header = ["scratches-only (held out)", f"found / missed / false (threshold {threshold})"]
    save_small(ragged_grid(rows, header, width), out)


BAND_PHOTOS = ["val__108005.jpg", "val__296059.jpg", "val__69020.jpg", "val__210088.jpg"]


def inpainting_sheet(out: Path, width: int = 300, model: str = "restore") -> None:
    """The inpainting exam (``exam-bands``, 320 px, seed 5) given its exact mask: damaged |
    OpenCV Telea | our restorer | truth, with PSNR inside the mask in each row's label."""
    from daguerre.metrics.evaluate import fit_max_side, image_seed
    from daguerre.metrics.exam import degrade_exam
    from daguerre.pipelines.baseline import telea_inpaint
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    def inside(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
        err = ((a - b) ** 2 * mask).sum() / (3 * mask.sum()).clamp_min(1)
        return float(10 * torch.log10(1 / err.clamp_min(1e-10)))

    rows = []
    for name in BAND_PHOTOS:
        clean = fit_max_side(read_image(SHARED / "clean" / "val" / name).rgb, 320)
        damaged, mask = degrade_exam("exam-bands", clean, image_seed(5, Path(name).stem))
        telea = telea_inpaint(damaged, mask)
        ours = restore_tensor(damaged, RestoreOptions(model=model), mask=mask)
        label = f"{inside(telea, clean, mask):.1f} / {inside(ours, clean, mask):.1f} dB"
        rows.append((label, [fit(x, width) for x in (damaged, telea, ours, clean)]))
    header = ["exam-bands (held out)", "OpenCV Telea", "restore, given the mask", "truth"]
    save_small(ragged_grid(rows, header, width), out)


VINTAGE_SCANS = [
    "1850Geography.jpg",
    "1860Girls.jpg",
    "1860sSamauris.png",
    "1867MusicianConstantinople.jpg",
]


def vintage_sheet(out: Path, reverse: Path, width: int = 260) -> None:
    """Real scans: input | paired restoration GAN | the vintage style's reverse generator."""
    from daguerre.metrics.evaluate import fit_max_side
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    rows = []
    for name in VINTAGE_SCANS:
        rgb = fit_max_side(read_image(SHARED / "old" / name).rgb, 512)
        paired = restore_tensor(rgb, RestoreOptions())
        unpaired = restore_tensor(rgb, RestoreOptions(model=str(reverse)))
        rows.append((name[:14], [fit(x, width) for x in (rgb, paired, unpaired)]))
    header = ["real scan", "restore (paired GAN)", "vintage reverse (unpaired)"]
    save_small(ragged_grid(rows, header, width), out)


TONED_PRINTS = [
    "1867MusicianConstantinople.jpg",
    "1908FamilyPhoto.jpg",
    "BigManTavern1908NYC.jpg",
]


def tone_sheet(out: Path, width: int = 260) -> None:
    """Monochrome prints: input | restore (neutral, the default) | restore --monochrome tone."""
    from daguerre.metrics.evaluate import fit_max_side
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    rows = []
    for name in TONED_PRINTS:
        rgb = fit_max_side(read_image(SHARED / "old" / name).rgb, 512)
        outs = [restore_tensor(rgb, RestoreOptions(monochrome=m)) for m in ("auto", "tone")]
        rows.append((name[:14], [fit(x, width) for x in (rgb, *outs)]))
    header = ["real scan", "restore (neutral)", "restore --monochrome tone"]
    save_small(ragged_grid(rows, header, width), out)


EXPERT_PHOTOS = [  # the first six val photos by name: no picking
    "cset14__baboon", "cset14__barbara", "cset14__bridge", "cset14__coastguard", "cset14__comic",
    "cset14__face",
]  # fmt: skip


def experts_sheet(out: Path, width: int = 240) -> None:
    """``unstructured`` val photos: degraded | print expert alone | default (routed, fused) | truth.

    Degraded exactly as ``daguerre eval restore --preset unstructured --max-side 512`` does;
    each panel's label gives its PSNR against the truth and the router's choice.
    """
    from daguerre.degrade.base import generator_for
    from daguerre.degrade.chain import apply_to_target
    from daguerre.metrics.evaluate import fit_max_side, image_seed
    from daguerre.metrics.fidelity import psnr
    from daguerre.pipelines.restore import (
        RestoreOptions,
        expert_names,
        load_restorer,
        restore_tensor,
    )

    restorer = load_restorer(RestoreOptions())
    op = build_preset("unstructured")
    rows = []
    for stem in EXPERT_PHOTOS:
        path = next((SHARED / "clean" / "val").glob(f"{stem}.*"))
        clean = fit_max_side(read_image(path).rgb, 512)
        hit = run(op, clean[None], generator_for(image_seed(0, stem)))
        truth = apply_to_target(op, clean[None], hit.params)[0]
        degraded = hit.image[0]
        single = restore_tensor(degraded, RestoreOptions(photo_type="print", fusion="off"))
        routed = restore_tensor(degraded, RestoreOptions())
        chosen = expert_names(restorer, degraded[None])[0]
        scores = [float(psnr(x, truth)) for x in (degraded, single, routed)]
        label = f"{stem[:13]}\n{scores[0]:.1f} / {scores[1]:.1f}\n/ {scores[2]:.1f} dB\n({chosen})"
        rows.append((label, [fit(x, width) for x in (degraded, single, routed, truth)]))
    header = ["unstructured damage", "print expert only", "default", "ground truth"]
    save_small(ragged_grid(rows, header, width), out)


REAL_SHEET = [  # faded colour prints (bopb__old__*), toned and neutral prints, a face crop
    "bopb__old__d.png", "bopb__old__f.png", "bopb__old__h.png", "bopb__old__e.png",
    "bopb__old__g.png", "1920sFamilyPhoto.jpg", "1908FamilyPhoto.jpg", "1870Girl.jpg",
    "1930sGeorgia.jpg", "SenecaNative1908.jpg", "1880sBrooklynBridge.jpg",
    "codeformer__Solvay_conference_1927_0018.png",
]  # fmt: skip


def real_sheet(out: Path, width: int = 220, model: str = "restore") -> None:
    """Twelve real scans at up to 768 px: scan | restored without the grade | default."""
    from daguerre.metrics.evaluate import fit_max_side
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    rows = []
    for name in REAL_SHEET:
        rgb = fit_max_side(read_image(SHARED / "old" / name).rgb, 768)
        plain = restore_tensor(rgb, RestoreOptions(model=model, grade="off"))
        graded = restore_tensor(rgb, RestoreOptions(model=model))
        rows.append(
            (name.removeprefix("bopb__")[:14], [fit(x, width) for x in (rgb, plain, graded)])
        )
    header = ["real scan", "restored, no grade (before)", "restored (default)"]
    save_small(ragged_grid(rows, header, width), out)


def ragged_grid(
    rows: list[tuple[str, list[Image.Image]]], header: list[str], width: int
) -> Image.Image:
    """Like :func:`grid` but rows may have different heights."""
    label_w, head_h, pad = 110, 22, 4
    heights = [max(p.height for p in panels) for _, panels in rows]
    cols = max(len(p) for _, p in rows)
    sheet = Image.new(
        "RGB", (label_w + cols * (width + pad), head_h + sum(heights) + pad * len(rows)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for col, title in enumerate(header):
        draw.text((label_w + col * (width + pad) + 4, 5), title, fill="black")
    y = head_h
    for (label, panels), height in zip(rows, heights, strict=True):
        draw.text((6, y + height // 2 - 6), label, fill="black")
        for col, panel in enumerate(panels):
            sheet.paste(panel, (label_w + col * (width + pad), y))
        y += height + pad
    return sheet


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__)
    kinds = ["degrade", "scratches", "detection", "inpainting", "vintage", "tone", "experts"]
    kinds.append("real")
    parser.add_argument("kind", choices=kinds)
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--reverse", type=Path, default=Path("runs/style-vintage/reverse"), help="vintage only"
    )
    parser.add_argument(
        "--detector", default="scratch", help="scratches, detection: model name or folder"
    )
    parser.add_argument(
        "--model", default="restore", help="scratches, inpainting, real: restorer name or folder"
    )
    args = parser.parse_args()
    if args.kind == "degrade":
        degrade_sheet(args.out)
    elif args.kind == "scratches":
        scratch_sheet(args.out, detector=args.detector, model=args.model)
    elif args.kind == "detection":
        detection_sheet(args.out, detector=args.detector)
    elif args.kind == "inpainting":
        inpainting_sheet(args.out, model=args.model)
    elif args.kind == "real":
        real_sheet(args.out, model=args.model)
    elif args.kind == "vintage":
        vintage_sheet(args.out, args.reverse)
    elif args.kind == "tone":
        tone_sheet(args.out)
    elif args.kind == "experts":
        experts_sheet(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
