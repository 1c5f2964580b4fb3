"""Train the AdaIN decoder (Huang & Belongie 2017, https://arxiv.org/abs/1703.06868).

The encoder is ImageNet MobileNetV2, frozen; only the decoder of
:class:`~daguerre.nn.adain.AdaINNet` learns. Per step, with content crops ``c`` and style crops
``s`` (random pairs)::

    t_k = adain(enc_k(c), enc_k(s))          at every decoder stage k (multi-level AdaIN)
    g   = decoder(t)
    L   = content * mse(enc_K(g), t_K)                            K = deepest stage
        + style * sum_l [mse(mean(enc_l(g)), mean(enc_l(s))) + mse(std(enc_l(g)), std(enc_l(s)))]

Defaults follow the paper (content 1, style 10, Adam lr 1e-4) with MobileNetV2 stages in place
of VGG19's relu1_1..relu4_1. The loop and exact resume are :class:`~daguerre.train.trainer.
Trainer`'s (samples depend only on the step number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from daguerre.nn.adain import AdaINNet, adain, channel_stats
from daguerre.nn.factory import build_generator
from daguerre.train.config import OptimConfig, RunConfig
from daguerre.train.cyclegan import UnpairedDomains
from daguerre.train.data import UnpairedImages, require_inputs, sample_crops, sample_seed
from daguerre.train.run import Run
from daguerre.train.trainer import Schedule, Task, Validation
from daguerre.train.validation import write_grid
from daguerre.weights.checkpoint import ModelConfig

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
class AdaINTrainConfig(RunConfig):
    """Everything a decoder run needs; stored in the run folder as YAML."""

    model: AdaINNetConfig = field(default_factory=AdaINNetConfig)
    loss: AdaINLossConfig = field(default_factory=AdaINLossConfig)
    data: AdaINDataConfig = field(default_factory=AdaINDataConfig)
    optim: AdaINOptimConfig = field(default_factory=AdaINOptimConfig)
    sample_every: int = 500  # steps between sample grids (the decoder's validation)
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


class AdaINTask(Task[Batch]):
    """Trains the decoder of an :class:`AdaINNet` on random (content, style) crop pairs.

    Only the decoder learns (optimiser ``opt``). With each checkpoint the EMA network is
    written as ``RUN/adain`` (``daguerre stylize --adain-model RUN/adain``, ``weights promote``).

    Raises:
        CheckpointNotFoundError: the MobileNetV2 weights cannot be found.
        TypeError: ``model.arch`` does not build an :class:`AdaINNet`.
    """

    config = AdaINTrainConfig
    headline = ("content", "style")

    @classmethod
    def validation_data(cls, cfg: AdaINTrainConfig, run_dir: Path) -> Batch | None:
        """Fixed ``{"content", "style"}`` crops ``(N,3,s,s)`` for sample grids (None: off)."""
        return sample_crops(make_pairs, cfg)

    @classmethod
    def training_data(cls, cfg: AdaINTrainConfig, run_dir: Path) -> Any:
        """Random (content, style) training crops.

        Raises:
            ConfigError: content or style folders are not set.
        """
        require_inputs(cfg.data, content="--content", style="--style")
        return make_pairs(cfg)

    def __init__(self, cfg: AdaINTrainConfig, run: Run) -> None:
        from daguerre.weights.backbone import load_backbone

        self.cfg, self.run = cfg, run
        o, self.schedule = cfg.optim, Schedule.of(cfg, cfg.sample_every)
        net = build_generator(cfg.model.arch, dict(cfg.model.kwargs))  # first: decoder init
        if not isinstance(net, AdaINNet):
            raise TypeError(f"model.arch must build an AdaINNet, got {type(net).__name__}")
        self.backbone = load_backbone(cfg.backbone or None)
        net.load_encoder(self.backbone)
        net.encoder.requires_grad_(False)
        self.net, self.backbone = net.to(run.device), self.backbone.to(run.device)
        self.nets, self.ema = {"model": self.net}, run.ema("ema", self.net)  # encoder included
        self.model = self.ema.shadow
        run.adam("", self.net.decoder.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2),
                 clip=o.grad_clip)  # fmt: skip
        self.decoder = run.ddp(self.net.decoder)

    def model_config(self) -> ModelConfig:
        """``config.json`` of the whole network (encoder weights included)."""
        return ModelConfig(
            arch=self.cfg.model.arch,
            kwargs=dict(self.cfg.model.kwargs),
            kind="adain",
            pad_multiple=self.net.pad_multiple,
            extra={"mode": "adain", "content": list(self.cfg.data.content)},
        )

    def exports(self) -> dict[str, tuple[nn.Module, ModelConfig]]:
        """``RUN/adain``: the EMA network."""
        return {"adain": (self.ema.shadow, self.model_config())}

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One decoder update; returns the logged scalars."""
        with self.run.autocast():
            terms = adain_losses(self.net, self.decoder, self.backbone, batch, self.cfg.loss)
            total = terms["content"] + terms["style"]
        grad = self.run.backward("", total)
        logs = {k: float(v.detach()) for k, v in terms.items()}
        return {**logs, "loss": float(total.detach()), "grad": grad}

    @torch.no_grad()
    def validate(self, val: Batch) -> Validation:
        """Sample grid: rows ``content | style | stylized`` (EMA network, whole-image AdaIN)."""
        content, style = val["content"].to(self.run.device), val["style"].to(self.run.device)
        out = self.ema.shadow(content, style)
        rows = [torch.cat(t, dim=2) for t in zip(content, style, out, strict=True)]
        write_grid(self.run, torch.cat(rows, dim=1).float().cpu())
        return Validation()


def make_pairs(cfg: AdaINTrainConfig, *, crop: int | None = None, length: int = 10**12) -> Any:
    """Random (content, style) crop pairs; with ``crop``, the fixed sample crops."""
    data = cfg.data

    def domain(paths: tuple[str, ...], scales: tuple[float, float], offset: int) -> Any:
        return UnpairedImages(
            [Path(p) for p in paths], crop=crop or data.crop, scale_range=scales,
            seed=sample_seed(cfg.seed, offset), length=length, max_side=data.max_side,
        )  # fmt: skip

    content = domain(data.content, data.content_scale_range, 1)
    return UnpairedDomains(content, domain(data.style, data.style_scale_range, 2),
                           keys=("content", "style"))  # fmt: skip
