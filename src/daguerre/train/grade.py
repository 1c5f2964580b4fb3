r"""Train the whole-image colour grade (:class:`daguerre.nn.grade.GradeNet`) of a restorer.

The grade corrects what a tile-by-tile restorer gets wrong globally (a cast it kept or
invented, a black point it left lifted). It is trained for one frozen restoration model:

1. Samples: each clean photo (long side ``max_side``) is degraded whole with the preset and a
   seeded generator, restored by the frozen model (grade off), and reduced to ``thumb``-sized
   thumbnails of input, restored output and target, the detail statistics the net sees, and
   the error the thumbnails cannot see: with ``h(d) = d - upsample(thumbnail(d))`` of the
   full-size errors ``d_r = restored - target`` and ``d_x = input - target``, the means of
   ``h(d_r)^2``, ``h(d_x)^2`` and ``h(d_r) h(d_x)`` (``hf``), so that the high-frequency MSE
   of any blend ``input + alpha (restored - input)`` is known exactly. Samples are cached in
   the run folder.
2. Training: the loss is minus the mean over images of the estimated full-size PSNR, thumbnail
   MSE of the graded blend plus the blend's high-frequency MSE (what ``daguerre eval``
   averages). AdamW, linear decay, flips of the thumbnails.

The result, ``RUN/best`` (kind ``grade``), is used by the restorer whose ``config.json`` names it
in ``extra.grade`` (see :mod:`daguerre.pipelines.restore`). The network is tiny (~0.2 M
parameters, runs on 96 px thumbnails), so training is single-process.

Usage::

    daguerre train grade --data ../shared/data/clean/train --val ../shared/data/clean/val \
        --out runs/grade --config configs/train/grade.yaml
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from daguerre.config import dump_config, to_dict
from daguerre.nn.grade import (
    GradeNet,
    blend_alpha,
    coefficients_at,
    detail_stats,
    grade_pixels,
    thumbnail,
)
from daguerre.train.config import AdamWConfig
from daguerre.weights.checkpoint import ModelConfig, save_model

log = logging.getLogger(__name__)

Samples = dict[str, torch.Tensor]
TRAIN_FLOOR = 1e-5  # MSE added in the training loss: 50 dB, far above any restoration


@dataclass(frozen=True)
class GradeNetConfig:
    """:class:`GradeNet` constructor arguments."""

    width: int = 32
    grid: int = 4
    thumb: int = 96


@dataclass(frozen=True)
class GradeDataConfig:
    """Clean photos, degraded whole and restored once per sample (cached)."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    preset: str = "restore-mix"
    max_side: int = 384
    samples_per_image: int = 4
    val_samples_per_image: int = 1
    batch: int = 32


@dataclass(frozen=True)
class GradeTrainConfig:
    """A whole grade run (``configs/train/grade.yaml``)."""

    seed: int = 0
    restore_model: str = "restore"
    net: GradeNetConfig = field(default_factory=GradeNetConfig)
    data: GradeDataConfig = field(default_factory=GradeDataConfig)
    optim: AdamWConfig = field(default_factory=AdamWConfig)
    threads: int = 1
    log_every: int = 100
    val_every: int = 500


# --- samples ------------------------------------------------------------------------------


def make_sample(
    clean: torch.Tensor, op: Any, gen: torch.Generator, restore_model: str, thumb: int
) -> Samples:
    """Degrade ``clean`` (3,H,W), restore it (grade off), return thumbnails and ``hf``."""
    from daguerre.degrade.chain import apply_to_target, run
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    result = run(op, clean[None], gen)
    degraded = result.image[0].clamp(0.0, 1.0)
    target = apply_to_target(op, clean[None], result.params)[0]
    options = RestoreOptions(model=restore_model, device="cpu", grade="off", monochrome="off")
    restored = restore_tensor(degraded, options)
    thumbs = {k: thumbnail(v, thumb)[0] for k, v in
              (("input", degraded), ("restored", restored), ("target", target))}  # fmt: skip
    high_r, high_x = _high(restored - target, thumb), _high(degraded - target, thumb)
    hf = torch.stack([high_r.pow(2).mean(), high_x.pow(2).mean(), (high_r * high_x).mean()])
    return {**thumbs, "details": detail_stats(degraded, restored)[0], "hf": hf.float()}


def _high(error: torch.Tensor, thumb: int) -> torch.Tensor:
    """What the ``thumb`` thumbnail of ``error`` (3,H,W) misses: error - upsampled thumbnail."""
    import torch.nn.functional as F

    low = F.interpolate(thumbnail(error, thumb), size=error.shape[-2:], mode="bilinear")
    return error - low[0]


def build_samples(
    folders: tuple[str, ...], cfg: GradeTrainConfig, per_image: int, salt: int
) -> Samples:
    """One stacked batch of samples for every photo under ``folders`` (``per_image`` each).

    Photos are read like ``daguerre eval`` reads them (long side fitted to ``max_side``); an
    unreadable one is logged and skipped.

    Raises:
        ImageReadError: no readable photo at all.
    """
    from daguerre.degrade.presets import build_preset
    from daguerre.errors import ImageReadError
    from daguerre.io.discover import collect_inputs
    from daguerre.io.image import read_image
    from daguerre.metrics.evaluate import fit_max_side
    from daguerre.train.data import sample_seed

    paths, problems = collect_inputs([Path(f) for f in folders], recursive=True)
    for path, reason in problems:
        log.warning("skipping %s: %s", path, reason)
    op = build_preset(cfg.data.preset)
    items: list[Samples] = []
    start = time.monotonic()
    for index, path in enumerate(paths):
        try:
            clean = fit_max_side(read_image(path).rgb, cfg.data.max_side)
        except ImageReadError as err:
            log.warning("skipping %s: %s", path, err.reason)
            continue
        for k in range(per_image):
            gen = torch.Generator("cpu").manual_seed(sample_seed(cfg.seed, salt, index, k))
            items.append(make_sample(clean, op, gen, cfg.restore_model, cfg.net.thumb))
        if (index + 1) % 50 == 0:
            log.info(
                "samples: %d/%d photos, %.0f s", index + 1, len(paths), time.monotonic() - start
            )
    if not items:
        where = Path(folders[0]) if folders else Path()
        raise ImageReadError(where, "no readable photo for grade samples")
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def cached_samples(run_dir: Path, name: str, folders: tuple[str, ...], cfg: GradeTrainConfig,
                   per_image: int, salt: int) -> Samples:  # fmt: skip
    """:func:`build_samples`, cached as ``RUN/samples-NAME.pt`` (redone if the recipe changed)."""
    from daguerre.train.cache import cached

    recipe = {
        "folders": list(folders), "per_image": per_image, "salt": salt, "seed": cfg.seed,
        "data": to_dict(cfg.data), "thumb": cfg.net.thumb, "model": cfg.restore_model,
    }  # fmt: skip
    path = run_dir / f"samples-{name}.pt"
    return cached(path, recipe, lambda: build_samples(folders, cfg, per_image, salt))


# --- loss and training --------------------------------------------------------------------


def image_psnr(net: GradeNet | None, batch: Samples, *, floor: float = 1e-10) -> torch.Tensor:
    """Per-image full-size PSNR estimate ``(B,)`` after the grade (``net=None``: without).

    ``floor`` is added to each MSE: training uses ``TRAIN_FLOOR`` (PSNR saturates near 50 dB)
    so a few undamaged samples, whose input is exact, do not dominate the batch's gradient.
    """
    restored, source = batch["restored"], batch["input"]
    alpha = torch.ones_like(batch["hf"][:, 0])
    if net is not None:
        coeffs = net(torch.cat([source, restored], dim=1), batch["details"])
        alpha = blend_alpha(coeffs)[:, 0, 0, 0]
        h, w = restored.shape[-2:]
        restored = grade_pixels(restored, source, coefficients_at(coeffs, slice(0, h), h, w))
    low = (restored - batch["target"]).pow(2).mean((1, 2, 3))
    hf_r, hf_x, hf_rx = batch["hf"].unbind(1)
    high = alpha**2 * hf_r + (1 - alpha) ** 2 * hf_x + 2 * alpha * (1 - alpha) * hf_rx
    return -10.0 * torch.log10((low + high).clamp_min(0.0) + floor)


def _flip(batch: Samples, gen: torch.Generator) -> Samples:
    """Flip each sample's thumbnails together, left-right and up-down at random."""
    n = batch["hf"].shape[0]
    out = dict(batch)
    for dim in (-1, -2):
        flip = (torch.rand(n, generator=gen) < 0.5)[:, None, None, None]
        for key in ("input", "restored", "target"):  # details and hf do not change
            out[key] = torch.where(flip, out[key].flip(dim), out[key])
    return out


def train_grade(cfg: GradeTrainConfig, run_dir: Path) -> Path:
    """Build (or reuse) the samples, train, write ``RUN/best`` and ``RUN/final``; returns best."""
    from daguerre.infer.device import set_threads

    if not cfg.data.train:
        raise ValueError("data.train is empty: pass --data DIR")
    if cfg.threads > 0:
        set_threads(cfg.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, run_dir / "config.yaml")
    train = cached_samples(run_dir, "train", cfg.data.train, cfg, cfg.data.samples_per_image, 0)
    val = None
    if cfg.data.val:
        val = cached_samples(run_dir, "val", cfg.data.val, cfg, cfg.data.val_samples_per_image, 1)
    best = fit_grade(
        cfg, train, val, lambda net, step, score: _save(net, cfg, run_dir / "best", step, score)
    )
    _save(best.net, cfg, run_dir / "final", cfg.optim.steps, best.last)
    if not (run_dir / "best").is_dir():  # never beat "no grade": the identity grade is best
        _save(GradeNet(**to_dict(cfg.net)), cfg, run_dir / "best", 0, best.score)
    return run_dir / "best"


@dataclass
class FitResult:
    """The trained net, the best validation PSNR seen (or the no-grade PSNR) and the last one."""

    net: GradeNet
    score: float
    last: float


def fit_grade(
    cfg: GradeTrainConfig,
    train: Samples,
    val: Samples | None,
    on_best: Any = None,
) -> FitResult:
    """Train a fresh :class:`GradeNet` on cached samples.

    Args:
        cfg: the run config (``net``, ``optim``, ``data.batch``, ``seed``, logging periods).
        train: samples from :func:`build_samples` (``input``/``restored``/``target``
            ``(N,3,T,T)``, ``hf`` ``(N,)``).
        val: validation samples; the net is scored every ``val_every`` steps and at the end.
        on_best: called as ``on_best(net, step, val_psnr)`` whenever validation improves on
            the best so far (the first bar is the PSNR without a grade).

    Returns:
        The final net with the best and last validation PSNR (NaN without ``val``).
    """
    torch.manual_seed(cfg.seed)
    net = GradeNet(**to_dict(cfg.net))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    best = last = _validate(None, val) if val is not None else math.nan
    log.info("val PSNR without grade: %.3f dB", best)
    n, decay_at = train["hf"].shape[0], int(cfg.optim.steps * cfg.optim.decay_start)
    for step in range(1, cfg.optim.steps + 1):
        frac = max(0.0, (step - decay_at) / max(1, cfg.optim.steps - decay_at))
        for group in opt.param_groups:
            group["lr"] = cfg.optim.lr * (1.0 - frac)
        idx = torch.randint(0, n, (cfg.data.batch,), generator=gen)
        batch = _flip({k: v[idx].float() for k, v in train.items()}, gen)
        loss = -image_psnr(net, batch, floor=TRAIN_FLOOR).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.log_every == 0:
            log.info("step %d/%d  train PSNR %.3f", step, cfg.optim.steps, -float(loss.detach()))
        if val is not None and (step % cfg.val_every == 0 or step == cfg.optim.steps):
            last = _validate(net, val)
            log.info("step %d  val PSNR %.3f dB (best %.3f)", step, last, best)
            if last > best:
                best = last
                if on_best is not None:
                    on_best(net, step, last)
    return FitResult(net.eval(), best, last)


@torch.no_grad()
def _validate(net: GradeNet | None, val: Samples) -> float:
    if net is not None:
        net.eval()
    score = float(image_psnr(net, {k: v.float() for k, v in val.items()}).mean())
    if net is not None:
        net.train()
    return score


def _save(net: GradeNet, cfg: GradeTrainConfig, folder: Path, step: int, score: float) -> None:
    config = ModelConfig(
        arch="grade", kwargs=to_dict(cfg.net), kind="grade", out_range="coefficients",
        degradation_preset=cfg.data.preset,
        extra={"restore_model": cfg.restore_model, "step": step, "val_psnr": round(score, 4)},
    )  # fmt: skip
    save_model(folder, net, config)


__all__ = [
    "FitResult",
    "GradeTrainConfig",
    "build_samples",
    "fit_grade",
    "image_psnr",
    "train_grade",
]
