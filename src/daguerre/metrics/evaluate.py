"""Score restoration methods side by side: paired (synthetic damage) and real (no reference).

* :func:`evaluate_paired`: each clean photo is degraded with a preset (or an exam from
  :mod:`daguerre.metrics.exam`, damage written apart from our engine) and a per-image seed,
  every restorer is run on the degraded photo, and PSNR / SSIM against the ground truth are
  recorded for the degraded input itself (method ``"input"``) and for each restorer. Optionally
  a patch-level FD-MobileNetV2 (a Frechet distance on MobileNetV2 features, **not FID**) of
  each method against the ground-truth set.
* :func:`evaluate_real`: real old photos have no ground truth, so each gets a NIQE score
  (lower is better) before and after each restorer.

Both return an :class:`EvalTable` (frozen; ``to_json``, ``to_csv``, ``summary``; defined in
:mod:`daguerre.metrics.report` and re-exported here). A restorer is any callable
``(3,H,W) float32 [0,1] -> (3,H,W) float32 [0,1]``, e.g. the classical baseline or a GAN
pipeline (a :data:`RestoreMethod`), so this module stays a leaf: it never imports the
pipelines.

Per-image seeds: ``image_seed(seed, name)`` hashes ``(seed, name)`` exactly like
``daguerre degrade`` does with ``(--seed, output stem)``, so for an image that was not
downscaled the degraded input is the file ``daguerre degrade --preset P --seed S`` writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from daguerre.degrade.base import Degradation, generator_for
from daguerre.degrade.chain import apply_to_target, run
from daguerre.degrade.presets import build_preset, preset_names
from daguerre.errors import DaguerreError, UnknownNameError
from daguerre.metrics.exam import EXAMS, degrade_exam
from daguerre.metrics.fidelity import psnr, ssim
from daguerre.metrics.niqe import MIN_SIDE as NIQE_MIN_SIDE
from daguerre.metrics.niqe import niqe
from daguerre.metrics.report import FD_METRIC, HIGHER_IS_BETTER, INPUT, EvalRow, EvalTable

if TYPE_CHECKING:
    from daguerre.nn.mobilenet import MobileNetV2Features


RestoreMethod = Callable[[Tensor], Tensor]
"""A method under test: ``(3,H,W)`` float32 [0,1] -> the same, e.g. a baseline or a pipeline."""
Damage = Callable[[Tensor, int], tuple[Tensor, Tensor]]  # (clean, seed) -> (degraded, target)
GROUND_TRUTH = "ground truth"  # key of the target in ImageEvent.images (paired only)
PSNR_CAP = 100.0  # dB; identical images would give inf, which JSON and means cannot hold
SSIM_MIN_SIDE = 11  # the SSIM window
UNCHANGED = "the preset left it unchanged (nothing to restore; input PSNR would be infinite)"
_UNCHANGED_TOL = 0.5 / 255  # below one 8-bit step everywhere: the same image once saved


class _UnchangedError(Exception):
    """The preset drew no visible damage for this image (internal; recorded as skipped)."""


@dataclass(frozen=True)
class ImageEvent:
    """What happened to one image, passed to the ``on_image`` callback as it finishes.

    Attributes:
        image: the image's name.
        status: ``"ok"``, ``"skipped"`` (cannot be scored) or ``"failed"``.
        detail: the reason for skipped / failed, else "".
        row: the scores when ``ok``.
        images: when ``ok``, every version ``{method: (3,H,W)}``, plus ``"ground truth"`` in
            paired mode; the caller may keep thumbnails for a report sheet.
    """

    image: str
    status: Literal["ok", "skipped", "failed"]
    detail: str = ""
    row: EvalRow | None = None
    images: Mapping[str, Tensor] = field(default_factory=dict)


OnImage = Callable[[ImageEvent], None]

# --- helpers --------------------------------------------------------------------------------


def image_seed(seed: int, name: str) -> int:
    """Per-image seed from the run's ``seed`` and the image name (same as ``daguerre degrade``).

    Example:
        >>> image_seed(0, "photo") == image_seed(0, "photo") != image_seed(1, "photo")
        True
    """
    digest = hashlib.sha256(f"{seed}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def fit_max_side(img: Tensor, max_side: int | None) -> Tensor:
    """Downscale so the long side is at most ``max_side`` (antialiased bicubic); never upscale.

    Args:
        img: (3,H,W) float32 in [0, 1].
        max_side: long-side limit in pixels; None or 0 keeps the size.

    Returns:
        (3,h,w) float32 in [0, 1]; ``img`` itself when it already fits.

    Example:
        >>> fit_max_side(torch.rand(3, 300, 200), 150).shape
        torch.Size([3, 150, 100])
    """
    height, width = img.shape[-2:]
    if not max_side or max(height, width) <= max_side:
        return img
    ratio = max_side / max(height, width)
    size = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    small = F.interpolate(img[None], size=size, mode="bicubic", antialias=True, align_corners=False)
    return small[0].clamp_(0.0, 1.0)


def _preset_damage(op: Degradation[Any]) -> Damage:
    """Damage from one of our degradations; the target is its ``apply_to_target``."""

    def damage(clean: Tensor, seed: int) -> tuple[Tensor, Tensor]:
        batch = clean[None]
        result = run(op, batch, generator_for(seed))
        return result.image[0], apply_to_target(op, batch, result.params)[0]

    return damage


def _exam_damage(name: str) -> Damage:
    """Damage from the exam ``name``; the target is the clean photo itself."""

    def damage(clean: Tensor, seed: int) -> tuple[Tensor, Tensor]:
        return degrade_exam(name, clean, seed)[0], clean

    return damage


def damage_for(preset: str | Degradation[Any]) -> Damage:
    """``(clean (3,H,W), seed) -> (degraded, target)`` for a preset, an exam or a degradation.

    Args:
        preset: a preset name (``daguerre presets``), an exam name (``"exam"``,
            ``"exam-scratches"``, ``"exam-bands"``; :mod:`daguerre.metrics.exam`) or a degradation.

    Returns:
        A function of a (3,H,W) float32 [0,1] CPU image and an int seed; same seed, same output.

    Raises:
        UnknownNameError: ``preset`` is neither a preset nor an exam; the message lists both.

    Example:
        >>> img = torch.full((3, 32, 32), 0.5)
        >>> degraded, target = damage_for("exam")(img, 0)
        >>> torch.equal(target, img), torch.equal(degraded, damage_for("exam")(img, 0)[0])
        (True, True)
    """
    if not isinstance(preset, str):
        return _preset_damage(preset)
    if preset in EXAMS:
        return _exam_damage(preset)
    if preset not in preset_names(training=True):  # training mixes resolve, unlisted
        raise UnknownNameError("preset", preset, [*preset_names(), *EXAMS])
    return _preset_damage(build_preset(preset))


def _restore_all(degraded: Tensor, restorers: Mapping[str, RestoreMethod]) -> dict[str, Tensor]:
    """``{"input": degraded, name: restorer(degraded), ...}``; checks each output's shape."""
    outputs = {INPUT: degraded}
    for method, restorer in restorers.items():
        out = restorer(degraded)
        if not isinstance(out, Tensor) or out.shape != degraded.shape:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise DaguerreError(
                f"restorer '{method}' returned {got}, expected {tuple(degraded.shape)}"
            )
        outputs[method] = out.detach().float().cpu().clamp(0.0, 1.0)
    return outputs


def _check_methods(
    restorers: Mapping[str, RestoreMethod], reserved: tuple[str, ...]
) -> tuple[str, ...]:
    clash = [name for name in restorers if name in reserved]
    if clash:
        raise ValueError(f"restorer names {clash} are reserved ({', '.join(reserved)})")
    return (INPUT, *restorers)


_PER_IMAGE_ERRORS = (DaguerreError, ValueError, MemoryError)  # one bad image fails alone

# --- FD-MobileNetV2 (patch level, streamed) -------------------------------------------------


@dataclass(frozen=True)
class FDSettings:
    """Patch-level FD-MobileNetV2 settings for :func:`evaluate_paired`.

    Attributes:
        backbone: a loaded MobileNetV2 (``daguerre.weights.backbone.load_backbone()``).
        patches: random crops per image; every version of an image uses the same crops.
        patch_size: crop side in pixels; smaller images are left out of the FD.
    """

    backbone: MobileNetV2Features
    patches: int = 16
    patch_size: int = 128


class _PatchFeatures:
    """Accumulates pooled MobileNetV2 features of patches, per method, image by image."""

    def __init__(self, settings: FDSettings) -> None:
        from daguerre.metrics.features import FeatureExtractor

        self.settings = settings
        self.extractor = FeatureExtractor(settings.backbone)
        self.feats: dict[str, list[np.ndarray]] = {}
        self.left_out: list[str] = []

    def add(self, name: str, images: Mapping[str, Tensor], seed: int) -> None:
        from daguerre.metrics.features import random_patches

        size = self.settings.patch_size
        if min(next(iter(images.values())).shape[-2:]) < size:
            self.left_out.append(name)
            return
        with torch.inference_mode():
            for method, img in images.items():
                crops = random_patches(img, self.settings.patches, size, generator_for(seed))
                feats = self.extractor(crops).double().cpu().numpy()
                self.feats.setdefault(method, []).append(feats)

    def distances(self, reference: str) -> dict[str, float]:
        from daguerre.metrics.features import frechet_distance

        if reference not in self.feats:
            return {}
        ref = np.concatenate(self.feats[reference])
        return {
            method: frechet_distance(np.concatenate(chunks), ref)
            for method, chunks in self.feats.items()
            if method != reference
        }


def _fd_note(acc: _PatchFeatures) -> tuple[str, ...]:
    size, count = acc.settings.patch_size, acc.settings.patches
    notes = [
        f"FD-MobileNetV2: Frechet distance of ImageNet-MobileNetV2 features of {count}"
        f" random {size}px patches per image vs the ground-truth set (not FID; lower is better)"
    ]
    if acc.left_out:
        notes.append(f"FD-MobileNetV2 left out {len(acc.left_out)} image(s) under {size}px")
    return tuple(notes)


# --- paired evaluation ----------------------------------------------------------------------


def _paired_one(
    name: str, clean: Tensor, damage: Damage, restorers: Mapping[str, RestoreMethod], seed: int
) -> tuple[EvalRow, dict[str, Tensor]]:
    """Degrade, restore and score one clean image; returns its row and all its versions."""
    if clean.ndim != 3 or clean.shape[0] != 3:
        raise ValueError(f"expected a (3,H,W) image, got {tuple(clean.shape)}")
    degraded, target = damage(clean.detach().float().cpu(), image_seed(seed, name))
    if float((degraded - target).abs().max()) < _UNCHANGED_TOL:
        raise _UnchangedError(UNCHANGED)
    outputs = _restore_all(degraded, restorers)
    stacked = torch.stack(list(outputs.values()))
    reference = target.expand_as(stacked)
    psnrs = psnr(stacked, reference).clamp(max=PSNR_CAP).tolist()
    ssims = ssim(stacked, reference).tolist()
    scores = {
        method: {"psnr": p, "ssim": s} for method, p, s in zip(outputs, psnrs, ssims, strict=True)
    }
    row = EvalRow(name, int(clean.shape[1]), int(clean.shape[2]), scores)
    return row, {**outputs, GROUND_TRUTH: target}


def evaluate_paired(
    clean_images: Iterable[tuple[str, Tensor]],
    preset: str | Degradation[Any],
    restorers: Mapping[str, RestoreMethod],
    seed: int = 0,
    *,
    fd: FDSettings | None = None,
    on_image: OnImage | None = None,
) -> EvalTable:
    """Degrade clean photos, restore them with each method, score PSNR/SSIM vs ground truth.

    Per image ``name``: ``run(op, clean, generator_for(image_seed(seed, name)))`` gives the
    degraded input; the ground truth is ``apply_to_target`` of the clean image (a photo turned
    gray by the preset is compared with a gray target). An exam (a key of
    ``EXAMS``) is seeded with ``image_seed(seed, name)`` too, and its ground truth
    is the clean image (:func:`damage_for`). The degraded input is scored as method
    ``"input"``. PSNR is capped at 100 dB. An image the preset happens to leave unchanged
    (every pixel within half an 8-bit step; ``unstructured`` skips all four of its operations
    with probability 0.3**4) is recorded in ``skipped``: its infinite input PSNR would swamp
    the means. An image whose restoring raises a ``DaguerreError``,
    ``ValueError`` or ``MemoryError`` is recorded in ``failed`` and the rest goes on.

    Args:
        clean_images: ``(name, (3,H,W) float32 [0,1])`` pairs; names should be unique. Images
            with a side under 11 px (the SSIM window) are recorded in ``skipped``.
        preset: preset name (``daguerre presets``), exam name (a key of
            ``daguerre.metrics.exam.EXAMS``) or a degradation.
        restorers: ``{method: (3,H,W) -> (3,H,W)}``, all in [0,1]; not named "input" or
            "ground truth".
        seed: run seed; each image's seed derives from it and the name.
        fd: compute patch-level FD-MobileNetV2 of each method vs the ground-truth set.
        on_image: called once per image as it finishes (progress, failures, sheet thumbnails).

    Returns:
        A ``"paired"`` table with metrics ``("psnr", "ssim")``.

    Raises:
        UnknownNameError: ``preset`` is neither a preset nor an exam name.

    Example:
        >>> images = [("a", torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0)))]
        >>> table = evaluate_paired(images, "unstructured", {"same": lambda x: x})
        >>> table.methods, table.mean("same", "psnr") == table.mean("input", "psnr")
        (('input', 'same'), True)
    """
    damage = damage_for(preset)
    methods = _check_methods(restorers, (INPUT, GROUND_TRUTH))
    acc = _PatchFeatures(fd) if fd is not None else None
    rows: list[EvalRow] = []
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for name, clean in clean_images:
        if min(clean.shape[-2:]) < SSIM_MIN_SIDE:
            skipped.append((name, f"smaller than {SSIM_MIN_SIDE}px on a side (the SSIM window)"))
            _notify(on_image, ImageEvent(name, "skipped", skipped[-1][1]))
            continue
        try:
            row, versions = _paired_one(name, clean, damage, restorers, seed)
            if acc is not None:
                acc.add(name, versions, image_seed(seed, name))
        except _UnchangedError as err:
            skipped.append((name, str(err)))
            _notify(on_image, ImageEvent(name, "skipped", skipped[-1][1]))
            continue
        except _PER_IMAGE_ERRORS as err:
            reason = str(err) or type(err).__name__
            failed.append((name, reason))
            _notify(on_image, ImageEvent(name, "failed", reason))
            continue
        rows.append(row)
        _notify(on_image, ImageEvent(name, "ok", row=row, images=versions))
    set_scores = {FD_METRIC: acc.distances(GROUND_TRUTH)} if acc is not None else {}
    settings = {"preset": preset if isinstance(preset, str) else type(preset).__name__}
    return EvalTable(
        kind="paired",
        metrics=("psnr", "ssim"),
        methods=methods,
        rows=tuple(rows),
        set_scores={k: v for k, v in set_scores.items() if v},
        skipped=tuple(skipped),
        failed=tuple(failed),
        notes=_fd_note(acc) if acc is not None else (),
        settings=settings | {"seed": seed},
    )


def _notify(on_image: OnImage | None, event: ImageEvent) -> None:
    if on_image is not None:
        on_image(event)


# --- real (no-reference) evaluation ---------------------------------------------------------


def _real_one(
    name: str, img: Tensor, restorers: Mapping[str, RestoreMethod]
) -> tuple[EvalRow | None, dict[str, Tensor], str]:
    """Score one real photo: (row, versions, "") or (None, {}, reason to skip)."""
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"expected a (3,H,W) image, got {tuple(img.shape)}")
    if min(img.shape[-2:]) < NIQE_MIN_SIDE:
        return None, {}, f"smaller than {NIQE_MIN_SIDE}px on a side (NIQE needs two 96px patches)"
    try:
        before = float(niqe(img)[0])
    except ValueError as err:  # e.g. a blank page: fewer than 2 non-flat patches
        return None, {}, str(err)
    outputs = _restore_all(img.detach().float().cpu(), restorers)
    scores = {INPUT: {"niqe": before}}
    for method, out in outputs.items():
        if method != INPUT:
            scores[method] = {"niqe": float(niqe(out)[0])}
    return EvalRow(name, int(img.shape[1]), int(img.shape[2]), scores), outputs, ""


def evaluate_real(
    images: Iterable[tuple[str, Tensor]],
    restorers: Mapping[str, RestoreMethod],
    *,
    on_image: OnImage | None = None,
) -> EvalTable:
    """NIQE (lower is better) of real photos before and after each restorer.

    No ground truth exists, so this measures naturalness only, not fidelity. Images with a
    side under 192 px (NIQE's minimum) or with too little texture are recorded in ``skipped``;
    downscale large scans first (:func:`fit_max_side`) to bound time, knowing that NIQE
    depends on scale. Failures are handled as in :func:`evaluate_paired`.

    Args:
        images: ``(name, (3,H,W) float32 [0,1])`` pairs.
        restorers: ``{method: (3,H,W) -> (3,H,W)}``; not named "input".
        on_image: called once per image as it finishes.

    Returns:
        A ``"real"`` table with metric ``("niqe",)``; ``summary()[m]["improved"]`` counts the
        images whose NIQE the method lowered.
    """
    methods = _check_methods(restorers, (INPUT,))
    rows: list[EvalRow] = []
    skipped: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    for name, img in images:
        try:
            row, versions, reason = _real_one(name, img, restorers)
        except _PER_IMAGE_ERRORS as err:
            failed.append((name, str(err) or type(err).__name__))
            _notify(on_image, ImageEvent(name, "failed", failed[-1][1]))
            continue
        if row is None:
            skipped.append((name, reason))
            _notify(on_image, ImageEvent(name, "skipped", reason))
            continue
        rows.append(row)
        _notify(on_image, ImageEvent(name, "ok", row=row, images=versions))
    return EvalTable(
        kind="real",
        metrics=("niqe",),
        methods=methods,
        rows=tuple(rows),
        skipped=tuple(skipped),
        failed=tuple(failed),
    )


__all__ = [
    "FD_METRIC",
    "GROUND_TRUTH",
    "HIGHER_IS_BETTER",
    "INPUT",
    "FDSettings",
    "EvalRow",
    "EvalTable",
    "Damage",
    "ImageEvent",
    "RestoreMethod",
    "damage_for",
    "evaluate_paired",
    "evaluate_real",
    "fit_max_side",
    "image_seed",
]
