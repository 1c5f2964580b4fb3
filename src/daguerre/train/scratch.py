"""The scratch-detector task: defect segmentation on synthetically damaged photos.

Clean photos are aged on the fly (preset ``defects``); the target is the damage engine's own
mask (soft mask > 0.25). Loss: pixel BCE with a weight on the rare damaged pixels plus soft
Dice; Adam and EMA, ``best/`` chosen by validation pixel F1. The loop, checkpoints and exact
resume are :class:`~daguerre.train.trainer.Trainer`'s.

Usage (one process, or under ``torchrun --nproc_per_node=N -m daguerre train scratch ...``)::

    train(ScratchTask, load_config(ScratchTrainConfig, "configs/train/scratch.yaml"), Path("s"))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from daguerre.errors import ConfigError
from daguerre.nn.factory import build_generator
from daguerre.train.checkpoints import init_weights
from daguerre.train.config import RunConfig
from daguerre.train.data import MASK_THRESHOLD
from daguerre.train.run import Batch, Run
from daguerre.train.trainer import Schedule, Task, Validation
from daguerre.train.validation import predict
from daguerre.weights.checkpoint import ModelConfig

log = logging.getLogger(__name__)

# --- config ---------------------------------------------------------------------------------


def _net_defaults() -> dict[str, Any]:
    return {"base_channels": 8, "depth": 4, "max_channels": 128, "bottleneck_blocks": 1}


@dataclass(frozen=True)
class DetectorNetConfig:
    """The detector network by registry name plus constructor kwargs."""

    arch: str = "scratch_unet"
    kwargs: dict[str, Any] = field(default_factory=_net_defaults)


@dataclass(frozen=True)
class ScratchDataConfig:
    """Clean photos, damaged on the fly; fixed validation crops."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    preset: str = "defects"
    crop: int = 128
    batch: int = 8
    workers: int = 1
    val_images: int = 16
    val_crop: int = 192
    # real old scans as backgrounds (train.defect_data.RealBackgrounds): a share of the
    # samples gets ``real_preset`` drawn onto a crop of a real scan; scans named as scratched
    # are left out and what ``ignore_detector`` finds on the crop is ignored in the loss
    real: tuple[str, ...] = ()
    real_share: float = 0.0
    real_preset: str = "scratches-only"
    ignore_detector: str = "scratch"


@dataclass(frozen=True)
class ScratchLossConfig:
    """BCE on logits plus soft Dice (Milletari et al. 2016, https://arxiv.org/abs/1606.04797)."""

    pos_weight: float = 3.0  # damaged pixels are ~5 % of a crop; 3x lifts recall, keeps precision
    dice: float = 1.0  # overlap term: insensitive to the class ratio
    # soft targets: a linear ramp in alpha that crosses 0.5 at the label's alpha 0.25, so faint
    # damage is not a knife-edge 0/1 call (hard: alpha > 0.25); ``soft_width`` is the ramp's
    # width in alpha: 0.5 gives clamp(alpha / 0.5, 0, 1), 0.2 goes from 0 at 0.15 to 1 at 0.35
    soft_target: bool = False
    soft_width: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.soft_width <= 1.0:
            raise ConfigError(f"loss.soft_width must be in (0, 1], got {self.soft_width}")


@dataclass(frozen=True)
class ScratchOptimConfig:
    """Adam with a constant, then linearly decaying learning rate."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    steps: int = 6000
    decay_start: float = 0.5  # fraction of steps after which the LR decays linearly to 0
    grad_clip: float = 1.0


@dataclass(frozen=True)
class ScratchTrainConfig(RunConfig):
    """Everything a scratch-detector training run needs."""

    init: str = ""  # fine-tune: a model folder or shipped name whose weights start the run
    init_new_layers: tuple[str, ...] = ()  # layers ``init`` lacks (added blocks keep their init)
    model: DetectorNetConfig = field(default_factory=DetectorNetConfig)
    loss: ScratchLossConfig = field(default_factory=ScratchLossConfig)
    data: ScratchDataConfig = field(default_factory=ScratchDataConfig)
    optim: ScratchOptimConfig = field(default_factory=ScratchOptimConfig)
    ema_decay: float = 0.995  # half-life of about 138 steps (short runs)
    val_every: int = 500


# --- loss and metrics -----------------------------------------------------------------------


def segmentation_losses(
    logits: torch.Tensor,
    target: torch.Tensor,
    cfg: ScratchLossConfig,
    valid: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """``{"bce", "dice"}`` (weighted) for ``(B,1,H,W)`` logits and a {0,1} float target.

    Dice is taken over the whole batch, so a crop without damage does not blow it up.
    ``valid`` (``(B,1,H,W)`` in {0, 1}) leaves out the pixels where it is 0 (damage we
    cannot label, e.g. real cracks on a real scan); ``None`` counts every pixel.
    """
    logits = logits.float()
    pos_weight = logits.new_tensor(cfg.pos_weight)
    weight = torch.ones_like(logits) if valid is None else valid.float()
    bce = F.binary_cross_entropy_with_logits(
        logits, target, weight=weight, pos_weight=pos_weight, reduction="sum"
    ) / weight.sum().clamp_min(1.0)
    prob, target = logits.sigmoid() * weight, target * weight
    dice = 1.0 - (2.0 * (prob * target).sum() + 1.0) / (prob.sum() + target.sum() + 1.0)
    return {"bce": bce, "dice": cfg.dice * dice}


def training_target(mask: torch.Tensor, cfg: ScratchLossConfig) -> torch.Tensor:
    """The detector's target from the engine's soft mask ``(B,1,H,W)`` in [0, 1].

    Hard: ``mask > 0.25`` as {0, 1}. Soft: ``clamp((mask - 0.25) / soft_width + 0.5, 0, 1)``,
    which crosses 0.5 exactly where the hard label flips (``soft_width=0.5``: ``mask / 0.5``).

    Example:
        >>> m = torch.tensor([0.0, 0.2, 0.3, 0.8])
        >>> training_target(m, ScratchLossConfig()).tolist()
        [0.0, 0.0, 1.0, 1.0]
        >>> [round(v, 2) for v in training_target(m, ScratchLossConfig(soft_target=True)).tolist()]
        [0.0, 0.4, 0.6, 1.0]
        >>> steep = ScratchLossConfig(soft_target=True, soft_width=0.2)
        >>> [round(v, 2) for v in training_target(m, steep).tolist()]
        [0.0, 0.25, 0.75, 1.0]
    """
    if cfg.soft_target:
        return ((mask - MASK_THRESHOLD) / cfg.soft_width + 0.5).clamp(0.0, 1.0)
    return (mask > MASK_THRESHOLD).float()


def mask_scores(
    prob: torch.Tensor, target: torch.Tensor, threshold: float = 0.5
) -> dict[str, float]:
    """Pixel precision, recall, F1 and IoU of ``prob > threshold`` against a {0,1} target.

    Example:
        >>> s = mask_scores(torch.tensor([0.9, 0.8, 0.1, 0.6]), torch.tensor([1.0, 1.0, 0.0, 0.0]))
        >>> round(s["f1"], 3), round(s["iou"], 3)
        (0.8, 0.667)
    """
    pred, truth = prob > threshold, target > 0.5
    tp = float((pred & truth).sum())
    fp, fn = float((pred & ~truth).sum()), float((~pred & truth).sum())
    eps = 1e-9
    return {
        "precision": tp / (tp + fp + eps),
        "recall": tp / (tp + fn + eps),
        "f1": 2 * tp / (2 * tp + fp + fn + eps),
        "iou": tp / (tp + fp + fn + eps),
    }


class MaskValidator:
    """Fixed damaged crops ``(N,3,S,S)`` with targets ``(N,1,S,S)``; scores a detector on them."""

    def __init__(self, degraded: torch.Tensor, target: torch.Tensor, *, batch: int = 4) -> None:
        self.degraded, self.target, self.batch = degraded, target, batch

    def evaluate(
        self, net: nn.Module, device: torch.device, sample_dir: Path, step: int
    ) -> dict[str, float]:
        """Scores at threshold 0.5; writes ``sample_dir/step_XXXXXXX.png`` (input|prob|truth)."""
        prob = predict(net, self.degraded, device, self.batch).sigmoid()
        self._write_grid(prob, sample_dir / f"step_{step:07d}.png")
        return mask_scores(prob, self.target)

    def _write_grid(self, prob: torch.Tensor, path: Path) -> None:
        from daguerre.io.image import write_image

        rows = []
        for i in range(min(4, len(prob))):
            masks = [m.expand(3, -1, -1) for m in (prob[i], self.target[i])]
            rows.append(torch.cat([self.degraded[i], *masks], dim=2))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, torch.cat(rows, dim=1))


# --- the task -------------------------------------------------------------------------------


class ScratchTask(Task[MaskValidator]):
    """Trains a defect-segmentation network (``arch`` from the config, e.g. ``scratch_unet``).

    ``RUN/best`` is the EMA network with the best validation pixel F1; the EMA warms up, so
    a short run's average does not hold its untrained start. Checkpoints: ``model``, ``ema``.

    Raises:
        CheckpointMismatchError: ``cfg.init`` does not fit the network.
    """

    config = ScratchTrainConfig

    @classmethod
    def validation_data(cls, cfg: ScratchTrainConfig, run_dir: Path) -> MaskValidator | None:
        """Fixed validation crops: the first ``val_images`` of the val folder(s), fixed seed."""
        if not cfg.data.val:
            return None
        from daguerre.train.data import SyntheticPairs, stack_samples

        data = SyntheticPairs(
            [Path(p) for p in cfg.data.val],
            preset=cfg.data.preset,
            crop=cfg.data.val_crop,
            seed=cfg.seed + 12345,  # never a training seed
            length=cfg.data.val_images,
            cache_images=False,
        )
        items = stack_samples(data)
        return MaskValidator(items["degraded"], (items["mask"] > MASK_THRESHOLD).float())

    @classmethod
    def training_data(cls, cfg: ScratchTrainConfig, run_dir: Path) -> Any:
        """Damaged clean photos, mixed with damaged real scans when ``data.real_share`` > 0.

        Raises:
            ConfigError: ``data.train`` is empty, or ``data.real_share`` without ``data.real``.
        """
        from daguerre.train.data import SyntheticPairs, require_inputs
        from daguerre.train.defect_data import Mixture, RealBackgrounds

        data = cfg.data
        require_inputs(data, train="--data")
        photos = SyntheticPairs(
            [Path(p) for p in data.train],
            preset=data.preset,
            crop=data.crop,
            seed=cfg.seed,
            length=10**12,  # the step sampler asks for global sample numbers; photos cycle
        )
        if data.real_share <= 0:
            return photos
        if not data.real:
            raise ConfigError("data.real_share needs data.real: folders of real old scans")
        scans = RealBackgrounds(
            data.real, preset=data.real_preset, crop=data.crop, seed=cfg.seed + 1,
            detector=data.ignore_detector,
        )  # fmt: skip
        shares = [1.0 - data.real_share, data.real_share]
        return Mixture([photos, scans], shares, seed=cfg.seed, length=10**12)

    def __init__(self, cfg: ScratchTrainConfig, run: Run) -> None:
        self.cfg, self.run = cfg, run
        o, self.schedule = cfg.optim, Schedule.of(cfg, cfg.val_every)
        self.net = build_generator(cfg.model.arch, dict(cfg.model.kwargs)).to(run.device)
        if cfg.init:
            init_weights(self.net, cfg.init, cfg.init_new_layers)
        self.nets, self.ema = {"model": self.net}, run.ema("ema", self.net, warmup=True)
        self.model = self.ema.shadow
        run.adam("", self.net.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), clip=o.grad_clip)
        self.train_net = run.ddp(self.net)

    def model_config(self) -> ModelConfig:
        """The ``config.json`` describing the detector."""
        return ModelConfig(
            arch=self.cfg.model.arch,
            kwargs=dict(self.cfg.model.kwargs),
            kind="scratch",
            out_range="logits",
            pad_multiple=2 ** int(self.cfg.model.kwargs.get("depth", 4)),
            degradation_preset=self.cfg.data.preset,
            extra={"threshold": 0.5},
        )

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One optimiser step on ``batch`` (``degraded`` + soft ``mask``, maybe ``valid``)."""
        target = training_target(batch["mask"], self.cfg.loss)
        with self.run.autocast():
            logits = self.train_net(batch["degraded"])
        terms = segmentation_losses(logits, target, self.cfg.loss, batch.get("valid"))
        total = torch.stack(list(terms.values())).sum()
        grad = self.run.backward("", total)
        logs = {k: float(v.detach()) for k, v in terms.items()}
        return {**logs, "loss": float(total.detach()), "grad": grad}

    def validate(self, val: MaskValidator) -> Validation:
        """Pixel scores of the EMA network; the best F1 is ``RUN/best``."""
        run = self.run
        scores = val.evaluate(self.ema.shadow, run.device, run.run_dir / "samples", run.step)
        return Validation(scores, (scores["f1"],))
