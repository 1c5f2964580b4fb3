"""Train the AdaIN decoder (Huang & Belongie 2017, https://arxiv.org/abs/1703.06868).

The encoder is ImageNet MobileNetV2, frozen; only the decoder of
:class:`~daguerre.nn.adain.AdaINNet` learns. Per step, with content crops ``c`` and style crops
``s`` (random pairs)::

    t_k = adain(enc_k(c), enc_k(s))          at every decoder stage k (multi-level AdaIN)
    g   = decoder(t)
    L   = content * mse(enc_K(g), t_K)                            K = deepest stage
        + style * sum_l [mse(mean(enc_l(g)), mean(enc_l(s))) + mse(std(enc_l(g)), std(enc_l(s)))]

Defaults follow the paper (content 1, style 10, Adam lr 1e-4) with MobileNetV2 stages in place
of VGG19's relu1_1..relu4_1. Resume is exact (samples depend only on the step number).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from daguerre.config import dump_config
from daguerre.infer.device import channels_last
from daguerre.nn.adain import AdaINNet, adain, channel_stats
from daguerre.nn.factory import build_generator
from daguerre.train import checkpoints, loop
from daguerre.train.config import OptimConfig
from daguerre.train.cyclegan import UnpairedDomains
from daguerre.train.data import UnpairedImages, sample_seed
from daguerre.train.distributed import barrier, init_distributed
from daguerre.train.ema import EMA
from daguerre.train.schedule import linear_decay
from daguerre.train.tblog import RunLogger
from daguerre.weights.checkpoint import ModelConfig, save_model

log = logging.getLogger(__name__)
Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class AdaINLossConfig:
    """Loss weights and the MobileNetV2 stages whose statistics define "style"."""

    content: float = 1.0
    style: float = 10.0
    style_layers: tuple[int, ...] = (1, 3, 6, 13)  # 1/2, 1/4, 1/8, 1/16 resolution


@dataclass(frozen=True)
class AdaINDataConfig:
    """Content photos and style paintings (folders or files), cut into random crops."""

    content: tuple[str, ...] = ()
    style: tuple[str, ...] = ()
    crop: int = 128  # a multiple of the network's pad_multiple (16 for stage 13)
    content_scale_range: tuple[float, float] = (0.5, 1.0)
    style_scale_range: tuple[float, float] = (0.25, 1.0)  # paintings: brush strokes at all sizes
    batch: int = 4
    workers: int = 1
    max_side: int = 1024
    sample_images: int = 3
    sample_crop: int = 256


@dataclass(frozen=True)
class AdaINNetConfig:
    """The network: encoder stages and decoder width (see :class:`AdaINNet`)."""

    arch: str = "adain"
    kwargs: dict[str, Any] = field(
        default_factory=lambda: {"stages": [3, 6, 13], "base_channels": 16, "blocks": 1}
    )


@dataclass(frozen=True)
class AdaINOptimConfig(OptimConfig):
    """Adam as in the AdaIN paper (lr 1e-4, default betas); linear decay for the last half."""

    lr_g: float = 1e-4
    beta1: float = 0.9
    steps: int = 6000
    decay_start: float = 0.5
    grad_clip: float = 0.0  # 0 = off


@dataclass(frozen=True)
class AdaINTrainConfig:
    """Everything a decoder run needs; stored in the run folder as YAML."""

    seed: int = 0
    model: AdaINNetConfig = field(default_factory=AdaINNetConfig)
    loss: AdaINLossConfig = field(default_factory=AdaINLossConfig)
    data: AdaINDataConfig = field(default_factory=AdaINDataConfig)
    optim: AdaINOptimConfig = field(default_factory=AdaINOptimConfig)
    ema_decay: float = 0.999
    threads: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_minutes: float = 5.0
    keep_checkpoints: int = 2
    amp: bool = True  # mixed precision: fp16 on CUDA, bf16 on a CPU with AMX, else off
    backbone: str = ""  # MobileNetV2 ImageNet weights; "" = search the usual places


def adain_losses(
    net: AdaINNet,
    decoder: nn.Module,
    backbone: nn.Module,
    batch: Batch,
    cfg: AdaINLossConfig,
) -> dict[str, torch.Tensor]:
    """Weighted ``{"content", "style"}`` for a batch ``{"content", "style"}`` of crops.

    Args:
        net: the AdaIN network (its frozen encoder makes the targets).
        decoder: ``net.decoder``, possibly DDP-wrapped (one forward per call).
        backbone: frozen MobileNetV2 for the losses (stages up to ``max(style_layers)``).
        batch: ``(B,3,S,S)`` float32 [0,1] content and style crops.
        cfg: loss weights and stages.
    """
    content, style = batch["content"], batch["style"]
    with torch.no_grad():
        targets = [adain(c, s) for c, s in zip(net.encode(content), net.encode(style), strict=True)]
        style_feats = backbone(style, layers=cfg.style_layers)
    out = decoder(targets, (content.shape[-2], content.shape[-1]))
    deepest = net.stages[-1]
    feats = backbone(out, layers=tuple(sorted({*cfg.style_layers, deepest})))
    style_terms = []
    for layer in cfg.style_layers:
        (mean_o, std_o), (mean_s, std_s) = (
            channel_stats(feats[layer]),
            channel_stats(style_feats[layer]),
        )
        style_terms.append(F.mse_loss(mean_o, mean_s) + F.mse_loss(std_o, std_s))
    return {
        "content": cfg.content * F.mse_loss(feats[deepest], targets[-1]),
        "style": cfg.style * torch.stack(style_terms).sum(),
    }


class AdaINTrainer:
    """Trains the decoder of an :class:`AdaINNet` on random (content, style) crop pairs.

    Args:
        cfg: the resolved config.
        run_dir: ``config.resolved.yaml``, ``tb/``, ``metrics.jsonl``, ``checkpoints/``,
            ``samples/`` and ``adain/`` (the EMA network as a model folder, for
            ``daguerre stylize --adain-model RUN/adain`` or ``weights promote``).
        device: torch device; under torchrun each rank gets its own.
        resume: continue from the newest checkpoint in ``run_dir`` if there is one.

    Raises:
        CheckpointNotFoundError: the MobileNetV2 weights cannot be found.
    """

    def __init__(
        self, cfg: AdaINTrainConfig, run_dir: Path, *, device: torch.device, resume: bool = False
    ) -> None:
        from daguerre.weights.backbone import load_backbone

        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist = init_distributed(device)
        self.device = self.dist.device
        self.backbone = load_backbone(cfg.backbone or None)
        with torch.random.fork_rng(devices=[]):  # decoder init only; global RNG left untouched
            torch.manual_seed(cfg.seed)
            net = build_generator(cfg.model.arch, dict(cfg.model.kwargs))
        if not isinstance(net, AdaINNet):
            raise TypeError(f"model.arch must build an AdaINNet, got {type(net).__name__}")
        net.load_encoder(self.backbone)
        net.encoder.requires_grad_(False)
        self.net, self.backbone = net.to(self.device), self.backbone.to(self.device)
        self.ema = EMA(self.net, decay=cfg.ema_decay)
        o = cfg.optim
        self.opt = torch.optim.Adam(
            self.net.decoder.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2)
        )
        self.amp, scale = loop.mixed_precision(self.device, cfg.amp)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=scale)
        self.step = 0
        if resume:
            self._resume()
        self.decoder: nn.Module = self.net.decoder
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.decoder = DistributedDataParallel(self.net.decoder, device_ids=ids)
        self.logger = RunLogger(self.run_dir, enabled=self.dist.is_main)

    def model_config(self) -> ModelConfig:
        """``config.json`` of the whole network (encoder weights included)."""
        return ModelConfig(
            arch=self.cfg.model.arch,
            kwargs=dict(self.cfg.model.kwargs),
            kind="adain",
            pad_multiple=self.net.pad_multiple,
            extra={"mode": "adain", "content": list(self.cfg.data.content)},
        )

    def _nets(self) -> dict[str, nn.Module]:
        return {"model": self.net, "ema": self.ema.shadow}

    def _resume(self) -> None:
        found = checkpoints.checkpoint_dirs(self.run_dir)
        if not found:
            log.info("no checkpoint in %s; starting from scratch", self.run_dir)
            return
        state = checkpoints.load_checkpoint(found[-1], self._nets())
        self.opt.load_state_dict(state["opt"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        log.info("resumed from %s at step %d", found[-1], self.step)

    def _save(self) -> None:
        if not self.dist.is_main:
            return
        state = {
            "opt": self.opt.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
        }
        path = checkpoints.save_checkpoint(
            self.run_dir, self.step, self._nets(), self.model_config(), state,
            keep=self.cfg.keep_checkpoints,
        )  # fmt: skip
        save_model(self.run_dir / "adain", self.ema.shadow, self.model_config())
        log.info("saved %s", path)

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One decoder update; returns the logged scalars."""
        batch = {k: channels_last(v.to(self.device, non_blocking=True)) for k, v in batch.items()}
        mult = linear_decay(self.step, self.cfg.optim.steps, self.cfg.optim.decay_start)
        for group in self.opt.param_groups:
            group["lr"] = self.cfg.optim.lr_g * mult
        with torch.autocast(self.device.type, enabled=self.amp):
            terms = adain_losses(self.net, self.decoder, self.backbone, batch, self.cfg.loss)
            total = terms["content"] + terms["style"]
        params = list(self.net.decoder.parameters())
        clip = self.cfg.optim.grad_clip
        grad = loop.optimizer_step(total, self.opt, params, self.scaler, clip)
        self.ema.update(self.net)
        return {
            **{k: float(v.detach()) for k, v in terms.items()},
            "loss": float(total.detach()),
            "grad": grad,
        }

    def fit(self, dataset: Dataset[Batch], samples: Batch | None = None) -> None:
        """Train until ``cfg.optim.steps``; checkpoints every few minutes and at the end.

        Args:
            dataset: items ``{"content": (3,S,S), "style": (3,S,S)}``.
            samples: fixed ``{"content": (N,3,s,s), "style": (N,3,s,s)}`` for sample grids.
        """
        cfg = self.cfg
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.run_dir / "config.resolved.yaml")
        stream = loop.make_stream(
            dataset, start_step=self.step, total_steps=cfg.optim.steps, batch=cfg.data.batch,
            rank=self.dist.rank, world=self.dist.world, workers=cfg.data.workers,
        )  # fmt: skip
        progress = loop.Progress(start=self.step, total=cfg.optim.steps, enabled=self.dist.is_main)
        last_save = time.monotonic()
        self.net.train()
        for batch in stream:
            logs = self.train_step(batch)
            self.step += 1
            info = f"content {logs['content']:.3f} style {logs['style']:.3f}"
            progress.update(self.step, info, force=self.step % cfg.log_every == 0)
            if self.step % cfg.log_every == 0:
                self.logger.scalars(self.step, logs)
            if samples is not None and self.step % cfg.sample_every == 0:
                self.write_samples(samples)
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                self._save()
                last_save = time.monotonic()
            if self.dist.world > 1 and self.step % 1000 == 0:
                barrier(self.dist)
        progress.close()
        if samples is not None and self.step % cfg.sample_every != 0:
            self.write_samples(samples)
        self._save()
        self.logger.close()

    @torch.no_grad()
    def write_samples(self, samples: Batch) -> None:
        """Rows ``content | style | stylized`` (EMA network, whole-image AdaIN)."""
        if not self.dist.is_main:
            return
        from daguerre.io.image import write_image

        content, style = samples["content"].to(self.device), samples["style"].to(self.device)
        out = self.ema.shadow(content, style)
        rows = [torch.cat(t, dim=2) for t in zip(content, style, out, strict=True)]
        grid = torch.cat(rows, dim=1).float().cpu()
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, grid)
        self.logger.image(self.step, "samples", grid)


class _Renamed(Dataset[Batch]):
    """``{"a", "b"}`` items as ``{"content", "style"}``."""

    def __init__(self, pairs: UnpairedDomains) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Batch:
        item = self.pairs[index]
        return {"content": item["a"], "style": item["b"]}


def make_pairs(cfg: AdaINTrainConfig, *, crop: int | None = None, length: int = 10**12) -> Any:
    """Random (content, style) crop pairs; with ``crop``, the fixed sample crops."""
    data = cfg.data

    def domain(paths: tuple[str, ...], scales: tuple[float, float], offset: int) -> Any:
        return UnpairedImages(
            [Path(p) for p in paths], crop=crop or data.crop, scale_range=scales,
            seed=sample_seed(cfg.seed, offset), length=length, max_side=data.max_side,
        )  # fmt: skip

    return _Renamed(
        UnpairedDomains(
            domain(data.content, data.content_scale_range, 1),
            domain(data.style, data.style_scale_range, 2),
        )
    )


def train_adain(
    cfg: AdaINTrainConfig, run_dir: Path, *, device: str = "auto", resume: bool = False
) -> Path:
    """Train (or resume) an AdaIN decoder; returns the run folder."""
    from daguerre.errors import ConfigError
    from daguerre.infer.device import resolve_device, set_threads

    if cfg.threads > 0:
        set_threads(cfg.threads)
    if not cfg.data.content or not cfg.data.style:
        raise ConfigError(
            "data.content and data.style must both be set: pass --content and --style"
        )
    trainer = AdaINTrainer(cfg, run_dir, device=resolve_device(device), resume=resume)
    samples = None
    if trainer.dist.is_main and cfg.data.sample_images > 0:
        fixed = make_pairs(cfg, crop=cfg.data.sample_crop, length=cfg.data.sample_images)
        items = [fixed[i] for i in range(len(fixed))]
        samples = {k: torch.stack([item[k] for item in items]) for k in ("content", "style")}
    trainer.fit(make_pairs(cfg), samples)
    return Path(run_dir)
