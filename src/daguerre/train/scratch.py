"""The scratch-detector trainer: defect segmentation on synthetically damaged photos.

Clean photos are aged on the fly (preset ``defects``); the target is the damage engine's own
mask (soft mask > 0.25). Loss: pixel BCE with a weight on the rare damaged pixels plus soft
Dice; Adam, EMA, checkpoints with exact resume, and ``best/`` chosen by validation pixel F1.

Usage (one process, or under ``torchrun --nproc_per_node=N -m daguerre train scratch ...``)::

    train_scratch(load_config(ScratchTrainConfig, "configs/train/scratch.yaml"), Path("runs/s"))
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from daguerre.config import dump_config
from daguerre.errors import ConfigError
from daguerre.infer.device import channels_last
from daguerre.nn.factory import build_generator
from daguerre.train import checkpoints, loop
from daguerre.train.data import MASK_THRESHOLD
from daguerre.train.distributed import DistInfo, init_distributed
from daguerre.train.ema import EMA
from daguerre.train.schedule import linear_decay
from daguerre.train.tblog import RunLogger
from daguerre.weights.checkpoint import ModelConfig, save_model

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
class ScratchTrainConfig:
    """Everything a scratch-detector training run needs."""

    seed: int = 0
    init: str = ""  # fine-tune: a model folder or shipped name whose weights start the run
    init_new_layers: tuple[str, ...] = ()  # layers ``init`` lacks (added blocks keep their init)
    model: DetectorNetConfig = field(default_factory=DetectorNetConfig)
    loss: ScratchLossConfig = field(default_factory=ScratchLossConfig)
    data: ScratchDataConfig = field(default_factory=ScratchDataConfig)
    optim: ScratchOptimConfig = field(default_factory=ScratchOptimConfig)
    ema_decay: float = 0.995  # half-life of about 138 steps (short runs)
    threads: int = 0  # 0: leave torch's default
    log_every: int = 50
    val_every: int = 500
    checkpoint_minutes: float = 5.0
    keep_checkpoints: int = 2
    amp: bool = True  # mixed precision: fp16 on CUDA, bf16 on a CPU with AMX, else off


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

    @torch.no_grad()
    def evaluate(
        self, net: nn.Module, device: torch.device, sample_dir: Path, step: int
    ) -> dict[str, float]:
        """Scores at threshold 0.5; writes ``sample_dir/step_XXXXXXX.png`` (input|prob|truth)."""
        was_training = net.training
        net.eval()
        probs = [
            net(self.degraded[i : i + self.batch].to(device)).float().sigmoid().cpu()
            for i in range(0, len(self.degraded), self.batch)
        ]
        net.train(was_training)
        prob = torch.cat(probs)
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


# --- the trainer ----------------------------------------------------------------------------


class ScratchTrainer:
    """Trains a defect-segmentation network (``arch`` from the config, e.g. ``scratch_unet``).

    Args:
        cfg: the resolved config (stored in the run folder).
        run_dir: output folder: ``config.resolved.yaml``, ``tb/``, ``checkpoints/``,
            ``samples/``, ``best/``.
        device: torch device; under torchrun each rank gets its own.
        resume: continue from the newest checkpoint in ``run_dir`` if there is one.
    """

    def __init__(
        self, cfg: ScratchTrainConfig, run_dir: Path, *, device: torch.device, resume: bool = False
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist: DistInfo = init_distributed(device)
        self.device = self.dist.device
        torch.manual_seed(cfg.seed + self.dist.rank)  # weight init only; data has its own seeds
        self.model = build_generator(cfg.model.arch, dict(cfg.model.kwargs)).to(self.device)
        self.ema = EMA(self.model, decay=cfg.ema_decay)
        o = cfg.optim
        self.opt = torch.optim.Adam(self.model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2))
        self.amp, scale = loop.mixed_precision(self.device, cfg.amp)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=scale)
        self.step, self.best_f1 = 0, -1.0
        if cfg.init:
            self._init_model(cfg.init)
        if resume:
            self._resume()
        self.train_net: nn.Module = self.model
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_net = DistributedDataParallel(self.model, device_ids=ids)
        self.logger = RunLogger(self.run_dir, enabled=self.dist.is_main)

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

    def _init_model(self, name_or_dir: str) -> None:
        """Fine-tune: copy a saved detector's weights into the model and its EMA (strict)."""
        from daguerre.weights import model_dir
        from daguerre.weights.checkpoint import load_state_into

        path = model_dir(name_or_dir) / "model.safetensors"
        load_state_into(self.model, path, new_prefixes=tuple(self.cfg.init_new_layers))
        self.ema.shadow.load_state_dict(self.model.state_dict())
        log.info("detector initialised from %s", path)

    def _resume(self) -> None:
        found = checkpoints.checkpoint_dirs(self.run_dir)
        if not found:
            log.info("no checkpoint in %s; starting from scratch", self.run_dir)
            return
        state = checkpoints.load_checkpoint(
            found[-1], {"model": self.model, "ema": self.ema.shadow}
        )
        self.opt.load_state_dict(state["opt"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.best_f1 = int(state["step"]), float(state["best_f1"])
        log.info("resumed from %s at step %d", found[-1], self.step)

    def _save(self) -> None:
        if not self.dist.is_main:
            return
        state = {
            "step": self.step,
            "best_f1": self.best_f1,
            "opt": self.opt.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        nets, keep = {"model": self.model, "ema": self.ema.shadow}, self.cfg.keep_checkpoints
        path = checkpoints.save_checkpoint(
            self.run_dir, self.step, nets, self.model_config(), state, keep=keep
        )
        log.info("saved %s", path)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimiser step on ``batch`` (``degraded`` + soft ``mask``); returns scalars."""
        for group in self.opt.param_groups:
            o = self.cfg.optim
            group["lr"] = o.lr * linear_decay(self.step, o.steps, o.decay_start)
        image = channels_last(batch["degraded"].to(self.device, non_blocking=True))
        target = training_target(batch["mask"].to(self.device, non_blocking=True), self.cfg.loss)
        valid = batch["valid"].to(self.device, non_blocking=True) if "valid" in batch else None
        with torch.autocast(self.device.type, enabled=self.amp):
            logits = self.train_net(image)
        terms = segmentation_losses(logits, target, self.cfg.loss, valid)
        total = torch.stack(list(terms.values())).sum()
        params = list(self.model.parameters())
        grad = loop.optimizer_step(total, self.opt, params, self.scaler, self.cfg.optim.grad_clip)
        # EMA warm-up (as in TF's ExponentialMovingAverage with num_updates): early on the shadow
        # follows the model closely instead of averaging in the untrained start for ~1/(1-decay)
        self.ema.decay = min(self.cfg.ema_decay, (1 + self.step) / (10 + self.step))
        self.ema.update(self.model)
        logs = {k: float(v.detach()) for k, v in terms.items()}
        return {**logs, "loss": float(total.detach()), "grad": grad}

    def fit(self, dataset: Any, validator: MaskValidator | None = None) -> None:
        """Train until ``cfg.optim.steps``; checkpoints every few minutes and at the end."""
        cfg = self.cfg
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.run_dir / "config.resolved.yaml")
        stream = loop.make_stream(
            dataset,
            start_step=self.step,
            total_steps=cfg.optim.steps,
            batch=cfg.data.batch,
            rank=self.dist.rank,
            world=self.dist.world,
            workers=cfg.data.workers,
        )
        progress = loop.Progress(start=self.step, total=cfg.optim.steps, enabled=self.dist.is_main)
        last_save = time.monotonic()
        self.model.train()
        for batch in stream:
            logs = self.train_step(batch)
            self.step += 1
            progress.update(
                self.step, f"loss {logs['loss']:.3f}", force=self.step % cfg.log_every == 0
            )
            if self.step % cfg.log_every == 0:
                self.logger.scalars(self.step, logs)
            if validator is not None and (
                self.step % cfg.val_every == 0 or self.step == cfg.optim.steps
            ):
                self._validate(validator)
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                self._save()
                last_save = time.monotonic()
        progress.close()
        self._save()
        self.logger.close()

    def _validate(self, validator: MaskValidator) -> None:
        if not self.dist.is_main:
            return
        scores = validator.evaluate(
            self.ema.shadow, self.device, self.run_dir / "samples", self.step
        )
        self.logger.scalars(self.step, scores, prefix="val")
        log.info("val step %d: %s", self.step, "  ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        if scores["f1"] > self.best_f1:
            self.best_f1 = scores["f1"]
            save_model(self.run_dir / "best", self.ema.shadow, self.model_config())
            (self.run_dir / "best" / "metrics.txt").write_text(f"step {self.step}\n{scores}\n")


# --- wiring ---------------------------------------------------------------------------------


def build_mask_validator(cfg: ScratchTrainConfig) -> MaskValidator | None:
    """Fixed validation crops: the first ``val_images`` of the val folder(s), fixed seed."""
    if not cfg.data.val:
        return None
    from daguerre.train.data import SyntheticPairs

    data = SyntheticPairs(
        [Path(p) for p in cfg.data.val],
        preset=cfg.data.preset,
        crop=cfg.data.val_crop,
        seed=cfg.seed + 12345,  # never a training seed
        length=cfg.data.val_images,
        cache_images=False,
    )
    items = [data[i] for i in range(len(data))]
    degraded = torch.stack([item["degraded"] for item in items])
    target = torch.stack([(item["mask"] > MASK_THRESHOLD).float() for item in items])
    return MaskValidator(degraded, target)


def training_data(cfg: ScratchTrainConfig) -> Any:
    """Damaged clean photos, mixed with damaged real scans when ``data.real_share`` > 0."""
    from daguerre.train.data import SyntheticPairs
    from daguerre.train.defect_data import Mixture, RealBackgrounds

    data = cfg.data
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


def train_scratch(
    cfg: ScratchTrainConfig, run_dir: Path, *, device: str = "auto", resume: bool = False
) -> Path:
    """Train (or resume) a scratch detector; returns the run folder (``best/`` is the model)."""
    from daguerre.infer.device import resolve_device, set_threads

    if cfg.threads > 0:
        set_threads(cfg.threads)
    if not cfg.data.train:
        raise ValueError("data.train is empty: pass --data DIR")
    dataset = training_data(cfg)
    trainer = ScratchTrainer(cfg, run_dir, device=resolve_device(device), resume=resume)
    trainer.fit(dataset, build_mask_validator(cfg) if trainer.dist.is_main else None)
    return Path(run_dir)
