r"""Train :class:`daguerre.nn.tone.ToneNet`: a print's faded levels, cast and saturation, undone.

1. Samples: from each clean photo (long side ``max_side``), ``samples_per_image`` random crops
   (``crop_area`` of its area, any aspect) are resized to ``size`` px squares and damaged by
   the training mix ``data.preset`` (``tone-mix``: old prints whose tone went wrong in many
   ways, :func:`daguerre.degrade.presets.tone_mix`), with seeded generators. A sample keeps
   the :data:`~daguerre.nn.tone.THUMB` px thumbnails of the damaged crop and of its target
   (the degradation's ``apply_to_target``: the colour photo under a toner, the neutral print
   under a tone); the tone transform is per pixel, so its loss on thumbnails is its loss on
   the photo up to clipping. Samples are cached in the run folder.
2. Training (:class:`ToneTask` in the one loop): Charbonnier on the unclamped toned thumbnail
   plus MSE on the clamped one, AdamW, flips; validated every ``val_every`` steps on samples
   of the ``val`` photos; ``RUN/best`` keeps the highest validation PSNR.

Usage::

    daguerre train tone --data ../shared/data/clean/train --val ../shared/data/clean/val \
        --out runs/tone --config configs/train/tone.yaml
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from daguerre.nn.tone import THUMB, ToneNet, ToneParams, measured_levels, tone_thumbnail, toned
from daguerre.train.config import AdamWConfig, RunConfig
from daguerre.train.run import Run
from daguerre.train.samples import Samples, SmallNetTask, samples_of_photos
from daguerre.train.trainer import Validation
from daguerre.weights.checkpoint import ModelConfig

CHARBONNIER_EPS = 1e-3


@dataclass(frozen=True)
class ToneDataConfig:
    """Clean photos, cropped and damaged by ``preset`` per sample (cached as thumbnails)."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    preset: str = "tone-mix"
    max_side: int = 320
    size: int = 128  # side of the damaged crop before its thumbnail
    crop_area: tuple[float, float] = (0.5, 1.0)
    samples_per_image: int = 24
    val_samples_per_image: int = 2
    batch: int = 32


@dataclass(frozen=True)
class ToneTrainConfig(RunConfig):
    """A whole run (``configs/train/tone.yaml``)."""

    width: int = 24
    data: ToneDataConfig = field(default_factory=ToneDataConfig)
    optim: AdamWConfig = field(default_factory=lambda: AdamWConfig(lr=1e-3))
    threads: int = 1
    amp: bool = False  # a tiny net: float32 throughout
    ema_decay: float = 0.0  # trained in minutes: no averaging
    log_every: int = 250
    val_every: int = 500


# --- samples ------------------------------------------------------------------------------


def _crop(
    clean: torch.Tensor, gen: torch.Generator, area: tuple[float, float], size: int
) -> torch.Tensor:
    """A random crop of ``clean`` (3,H,W), ``area`` of its area, resized to a ``size`` square."""
    h, w = clean.shape[-2:]
    share = area[0] + (area[1] - area[0]) * float(torch.rand((), generator=gen))
    ch, cw = max(8, round(h * math.sqrt(share))), max(8, round(w * math.sqrt(share)))
    top = int(torch.randint(0, h - ch + 1, (), generator=gen))
    left = int(torch.randint(0, w - cw + 1, (), generator=gen))
    crop = clean[None, :, top : top + ch, left : left + cw]
    return F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True).clamp(0.0, 1.0)


def make_sample(clean: torch.Tensor, op: Any, gen: torch.Generator, cfg: ToneDataConfig) -> Samples:
    """One sample of ``clean`` (3,H,W): ``thumbs`` (damaged) and ``target`` thumbnails, fp16."""
    from daguerre.degrade.chain import apply_to_target, run

    crop = _crop(clean, gen, cfg.crop_area, cfg.size)
    result = run(op, crop, gen)
    target = apply_to_target(op, crop, result.params)
    thumbs = tone_thumbnail(result.image.clamp(0.0, 1.0))[0]
    return {"thumbs": thumbs.half(), "target": tone_thumbnail(target.clamp(0.0, 1.0))[0].half()}


def build_samples(
    folders: tuple[str, ...], cfg: ToneTrainConfig, per_image: int, salt: int
) -> Samples:
    """``per_image`` samples for every photo under ``folders``.

    Raises:
        ImageReadError: no readable photo at all.
    """
    from daguerre.degrade.presets import build_preset

    op = build_preset(cfg.data.preset)
    return samples_of_photos(
        folders, cfg.data.max_side, cfg.seed, per_image, salt,
        lambda clean, gen: make_sample(clean, op, gen, cfg.data),
    )  # fmt: skip


# --- training -----------------------------------------------------------------------------


def tone_output(net: torch.nn.Module, thumbs: torch.Tensor) -> torch.Tensor:
    """``thumbs`` ``(B,3,S,S)`` toned by ``net``'s own prediction, unclamped."""
    return toned(thumbs, ToneParams(net(thumbs), *measured_levels(thumbs)))


def tone_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Charbonnier on the unclamped output plus MSE on the clamped one (what is seen)."""
    charbonnier = torch.sqrt((out - target) ** 2 + CHARBONNIER_EPS**2).mean()
    return charbonnier + F.mse_loss(out.clamp(0.0, 1.0), target)


@torch.no_grad()
def psnr_db(net: torch.nn.Module, samples: Samples, *, chunk: int = 256) -> tuple[float, float]:
    """Mean PSNR (dB) of ``net``'s toned thumbnails and of the damaged ones, against the target."""
    was_training = net.training
    net.eval()
    scores: list[torch.Tensor] = []
    inputs: list[torch.Tensor] = []
    for start in range(0, len(samples["thumbs"]), chunk):
        thumbs = samples["thumbs"][start : start + chunk].float()
        target = samples["target"][start : start + chunk].float()
        out = tone_output(net, thumbs).clamp(0.0, 1.0)
        for got, into in ((out, scores), (thumbs, inputs)):
            mse = ((got - target) ** 2).mean((1, 2, 3)).clamp_min(1e-10)
            into.append(-10.0 * torch.log10(mse))
    net.train(was_training)
    return float(torch.cat(scores).mean()), float(torch.cat(inputs).mean())


class ToneTask(SmallNetTask):
    """Trains a :class:`ToneNet` on cached thumbnails; ``RUN/best`` keeps the best val PSNR."""

    config = ToneTrainConfig
    headline = ("loss",)
    flip = ("thumbs", "target")

    def __init__(self, cfg: ToneTrainConfig, run: Run) -> None:
        super().__init__(cfg, run, ToneNet(width=cfg.width))
        self.last: dict[str, float] = {}  # the latest validation

    build = staticmethod(build_samples)

    def model_config(self) -> ModelConfig:
        """``config.json`` with the step and the latest validation scores."""
        extra: dict[str, Any] = {"step": self.run.step, "thumb": THUMB}
        extra.update({f"val_{k}": round(v, 3) for k, v in self.last.items()})
        return ModelConfig(arch="tone", kwargs={"width": self.cfg.width}, kind="tone",
                           out_range="tone parameters", extra=extra)  # fmt: skip

    def train_step(self, batch: Samples) -> dict[str, float]:
        """One AdamW step on :func:`tone_loss`."""
        loss = tone_loss(tone_output(self.net, batch["thumbs"]), batch["target"])
        self.run.backward("", loss)
        return {"loss": float(loss.detach())}

    def validate(self, val: Samples) -> Validation:
        """PSNR of the toned thumbnails (and of the damaged ones); higher is better."""
        psnr, before = psnr_db(self.model, val)
        self.last = {"psnr": psnr, "input_psnr": before}
        return Validation(self.last, (psnr,))


__all__ = ["ToneTask", "ToneTrainConfig", "build_samples", "psnr_db", "tone_loss"]
