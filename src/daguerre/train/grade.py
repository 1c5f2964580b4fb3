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
2. Training (:class:`GradeTask` in the one loop, :class:`~daguerre.train.trainer.Trainer`):
   the loss is minus the mean over images of the estimated full-size PSNR, thumbnail MSE of
   the graded blend plus the blend's high-frequency MSE (what ``daguerre eval`` averages).
   AdamW, linear decay, flips of the thumbnails.

The result, ``RUN/best`` (kind ``grade``; the identity grade if no grade beat none at all),
is used by the restorer whose ``config.json`` names it
in ``extra.grade`` (see :mod:`daguerre.pipelines.restore`). The network is tiny (~0.2 M
parameters, runs on 96 px thumbnails), so training is single-process.

Usage::

    daguerre train grade --data ../shared/data/clean/train --val ../shared/data/clean/val \
        --out runs/grade --config configs/train/grade.yaml
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from daguerre.config import to_dict
from daguerre.nn.grade import (
    GradeNet,
    blend_alpha,
    coefficients_at,
    detail_stats,
    grade_pixels,
    thumbnail,
)
from daguerre.train.config import AdamWConfig, RunConfig
from daguerre.train.run import Run
from daguerre.train.samples import Samples, SmallNetTask, samples_of_photos
from daguerre.train.trainer import Validation
from daguerre.weights.checkpoint import ModelConfig

log = logging.getLogger(__name__)

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
class GradeTrainConfig(RunConfig):
    """A whole grade run (``configs/train/grade.yaml``)."""

    restore_model: str = "restore"
    net: GradeNetConfig = field(default_factory=GradeNetConfig)
    data: GradeDataConfig = field(default_factory=GradeDataConfig)
    optim: AdamWConfig = field(default_factory=AdamWConfig)
    threads: int = 1
    amp: bool = False  # the loss takes logs of small MSEs: float32 throughout
    ema_decay: float = 0.0  # a tiny net trained in minutes: no averaging
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

    op = build_preset(cfg.data.preset)
    return samples_of_photos(
        folders, cfg.data.max_side, cfg.seed, per_image, salt,
        lambda clean, gen: make_sample(clean, op, gen, cfg.restore_model, cfg.net.thumb),
    )  # fmt: skip


# --- loss and training --------------------------------------------------------------------


def image_psnr(net: nn.Module | None, batch: Samples, *, floor: float = 1e-10) -> torch.Tensor:
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


@torch.no_grad()
def mean_psnr(net: nn.Module | None, samples: Samples) -> float:
    """Mean estimated PSNR of ``samples`` after ``net``'s grade (``None``: without), eval mode."""
    was_training = net is not None and net.training
    if net is not None:
        net.eval()
    score = float(image_psnr(net, {k: v.float() for k, v in samples.items()}).mean())
    if net is not None:
        net.train(was_training)
    return score


class GradeTask(SmallNetTask):
    """Trains a :class:`GradeNet` on cached samples; ``RUN/final`` is the last one.

    ``RUN/best`` holds the best validated grade that beats no grade at all, or, when none did,
    the identity grade.
    """

    config = GradeTrainConfig
    headline = ("psnr",)
    flip = ("input", "restored", "target")

    def __init__(self, cfg: GradeTrainConfig, run: Run) -> None:
        super().__init__(cfg, run, GradeNet(**to_dict(cfg.net)))
        self.baseline = math.nan  # validation PSNR without a grade, once validated
        self.last = math.nan  # the latest validation PSNR

    build = staticmethod(build_samples)

    @staticmethod
    def recipe(cfg: Any) -> dict[str, Any]:
        """The data settings, the thumbnail size and the restorer."""
        return {"data": to_dict(cfg.data), "thumb": cfg.net.thumb, "model": cfg.restore_model}

    def model_config(self) -> ModelConfig:
        """``config.json`` of the grade at the current step and validation PSNR."""
        return self._config(self.run.step, self.last)

    def _config(self, step: int, score: float) -> ModelConfig:
        cfg = self.cfg
        return ModelConfig(
            arch="grade", kwargs=to_dict(cfg.net), kind="grade", out_range="coefficients",
            degradation_preset=cfg.data.preset,
            extra={"restore_model": cfg.restore_model, "step": step, "val_psnr": round(score, 4)},
        )  # fmt: skip

    def train_step(self, batch: Samples) -> dict[str, float]:
        """One AdamW step on minus the mean estimated PSNR."""
        loss = -image_psnr(self.net, batch, floor=TRAIN_FLOOR).mean()
        self.run.backward("", loss)
        return {"psnr": -float(loss.detach())}

    def validate(self, val: Samples) -> Validation:
        """Estimated PSNR with the grade; it competes for ``RUN/best`` only above no grade."""
        if math.isnan(self.baseline):
            self.baseline = mean_psnr(None, val)
            log.info("val PSNR without grade: %.3f dB", self.baseline)
        self.last = mean_psnr(self.model, val)
        score = (self.last,) if self.last > self.baseline else None
        return Validation({"psnr": self.last, "psnr_no_grade": self.baseline}, score)

    def fallback(self) -> tuple[nn.Module, ModelConfig]:
        """The identity grade (an untrained :class:`GradeNet`)."""
        return GradeNet(**to_dict(self.cfg.net)), self._config(0, self.baseline)


__all__ = ["GradeTask", "GradeTrainConfig", "build_samples", "image_psnr", "mean_psnr"]
