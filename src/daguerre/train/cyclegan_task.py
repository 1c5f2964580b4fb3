"""CycleGAN config, the wrapped generator/discriminator pairs and the losses.

The objective is spelled out in :mod:`daguerre.train.cyclegan`, which holds the task. Each
generator pair and each discriminator pair is one ``nn.Module``, so under DDP every wrapped
module runs exactly one forward per backward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from daguerre.losses import adversarial, pixel
from daguerre.losses.perceptual import gram, perceptual_loss
from daguerre.train.config import OptimConfig, RunConfig
from daguerre.weights.checkpoint import unwrap

Batch = dict[str, torch.Tensor]
Losses = dict[str, torch.Tensor]

# --- config -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleLossConfig:
    """Loss weights (zero disables a term; content/style then need no backbone)."""

    gan_mode: Literal["vanilla", "lsgan", "hinge"] = "lsgan"
    adversarial: float = 1.0
    cycle: float = 10.0  # lambda of the paper, same for both directions
    identity: float = 0.5  # times `cycle`; keeps colours (stops A->B from inverting them)
    feature_matching: float = 0.0  # mean-feature matching on D (Salimans et al. 2016), unpaired
    content: float = 0.0  # MobileNetV2 L1, g_ab(a) vs a: keeps the photo's structure
    content_layers: tuple[int, ...] = (6, 13)
    style: float = 0.0  # MobileNetV2 Gram MSE, g_ab(a) vs the batch's B crops
    style_layers: tuple[int, ...] = (1, 3, 6)

    @property
    def needs_reverse(self) -> bool:
        """Whether any term uses g_ba or a discriminator (else only g_ab(a) is computed)."""
        return self.cycle > 0 or self.adversarial > 0


@dataclass(frozen=True)
class CycleDataConfig:
    """The two domains: folders or single images (a painting is enough for B)."""

    a: tuple[str, ...] = ()
    b: tuple[str, ...] = ()
    crop: int = 128
    scale_range: tuple[float, float] = (0.5, 1.0)  # random downscale before cropping
    batch: int = 1
    workers: int = 1
    max_side: int = 1024  # images are downscaled to this long side when read
    sample_images: int = 3  # fixed crops per domain in the sample grids
    sample_crop: int = 256  # a multiple of the generator's pad_multiple


@dataclass(frozen=True)
class StyleNetConfig:
    """The generators (both directions share it)."""

    arch: str = "resnet"
    kwargs: dict[str, Any] = field(
        default_factory=lambda: {"base_channels": 32, "downsamplings": 2, "blocks": 6}
    )


@dataclass(frozen=True)
class StyleDiscConfig:
    """The discriminators (unconditional: 3 input channels)."""

    arch: str = "multiscale"
    kwargs: dict[str, Any] = field(
        default_factory=lambda: {
            "in_channels": 3,
            "base_channels": 32,
            "layers": 3,
            "num_scales": 2,
        }
    )


@dataclass(frozen=True)
class StyleOptimConfig(OptimConfig):
    """CycleGAN's Adam (2e-4, beta1 0.5); constant for half the steps, then linear to 0."""

    steps: int = 4000
    decay_start: float = 0.5
    grad_clip: float = 0.0  # 0 = off, as in CycleGAN


@dataclass(frozen=True)
class CycleGANConfig(RunConfig):
    """Everything a style (CycleGAN) run needs; stored in the run folder as YAML."""

    generator: StyleNetConfig = field(default_factory=StyleNetConfig)
    discriminator: StyleDiscConfig = field(default_factory=StyleDiscConfig)
    loss: CycleLossConfig = field(default_factory=CycleLossConfig)
    data: CycleDataConfig = field(default_factory=CycleDataConfig)
    optim: StyleOptimConfig = field(default_factory=StyleOptimConfig)
    pool_size: int = 50
    sample_every: int = 500  # steps between sample grids (the style's validation)
    backbone: str = ""  # MobileNetV2 weights for content/style terms; "" = search


# --- modules and losses ---------------------------------------------------------------------


class CycleGenerators(nn.Module):
    """Both generators in one module: one DDP forward computes every image the losses need."""

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module) -> None:
        super().__init__()
        self.g_ab, self.g_ba = g_ab, g_ba

    def forward(
        self, a: torch.Tensor, b: torch.Tensor, *, identity: bool, reverse: bool = True
    ) -> Batch:
        """``a``, ``b``: ``(B,3,H,W)`` [0,1] -> fake_b, fake_a, rec_a, rec_b (+ idt_b, idt_a).

        With ``reverse=False`` only ``fake_b`` = ``g_ab(a)`` (for a pure content + style run).
        """
        n = a.shape[0]
        if not reverse:
            return {"fake_b": self.g_ab(a)}
        ab = self.g_ab(torch.cat([a, b]) if identity else a)  # batched: no norm layers couple it
        fake_b = ab[:n]
        ba = self.g_ba(torch.cat([b, fake_b, a] if identity else [b, fake_b]))
        out = {"fake_b": fake_b, "fake_a": ba[:n], "rec_a": ba[n : 2 * n]}
        out["rec_b"] = self.g_ab(out["fake_a"])
        if identity:
            out["idt_b"], out["idt_a"] = ab[n:], ba[2 * n :]  # g_ab(b) ~ b, g_ba(a) ~ a
        return out


class CycleDiscriminators(nn.Module):
    """``d_a`` and ``d_b`` in one module (one DDP forward per D step)."""

    def __init__(self, d_a: nn.Module, d_b: nn.Module) -> None:
        super().__init__()
        self.d_a, self.d_b = d_a, d_b

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[Any, Any]:
        """Multi-scale outputs of ``d_a(a)`` and ``d_b(b)``."""
        return self.d_a(a), self.d_b(b)


Outputs = list[list[torch.Tensor]]


def _halves(outs: Outputs) -> tuple[Outputs, Outputs]:
    """Split D outputs on ``cat([real, fake])`` into (real, fake)."""
    real = [[f.chunk(2)[0] for f in scale] for scale in outs]
    return real, [[f.chunk(2)[1] for f in scale] for scale in outs]


def mean_feature_matching(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> Any:
    """Unpaired feature matching: L1 between per-channel means of D's features (logits excluded)."""
    terms = [
        (f.mean(dim=(0, 2, 3)) - r.detach().mean(dim=(0, 2, 3))).abs().mean()
        for r_scale, f_scale in zip(real, fake, strict=True)
        for r, f in zip(r_scale[:-1], f_scale[:-1], strict=True)
    ]
    return torch.stack(terms).mean()


class CycleLosses:
    """Named CycleGAN losses; the task owns optimisers and pools, the trainer the loop.

    Args:
        generators: a (possibly DDP-wrapped) :class:`CycleGenerators`.
        discriminators: a (possibly DDP-wrapped) :class:`CycleDiscriminators`.
        losses: loss weights.
        backbone: frozen MobileNetV2 (``(B,3,H,W)`` -> dict stage -> features) or None.
        reverse: run ``g_ba`` (False only when no term needs it, see
            :attr:`CycleLossConfig.needs_reverse`).
    """

    def __init__(
        self,
        generators: nn.Module,
        discriminators: nn.Module,
        losses: CycleLossConfig,
        backbone: nn.Module | None = None,
        *,
        reverse: bool = True,
    ) -> None:
        self.generators, self.discriminators = generators, discriminators
        self.cfg, self.backbone, self.reverse = losses, backbone, reverse

    def generate(self, batch: Batch) -> Batch:
        """One forward of the generators (of ``g_ab`` alone without ``reverse``)."""
        identity = self.cfg.identity > 0 and self.reverse
        return self.generators(batch["a"], batch["b"], identity=identity, reverse=self.reverse)

    def d_losses(self, batch: Batch, fake_a: torch.Tensor, fake_b: torch.Tensor) -> Losses:
        """D losses on real vs (pooled, detached) fake images, real and fake in one batch."""
        outs_a, outs_b = self.discriminators(
            torch.cat([batch["a"], fake_a.detach()]), torch.cat([batch["b"], fake_b.detach()])
        )
        mode = self.cfg.gan_mode
        return {
            "d_a": adversarial.d_loss(*_halves(outs_a), mode),
            "d_b": adversarial.d_loss(*_halves(outs_b), mode),
        }

    def g_losses(self, batch: Batch, out: Batch, *, adversarial_on: bool) -> Losses:
        """Named generator terms, already weighted; their sum is the G objective."""
        cfg, a, b = self.cfg, batch["a"], batch["b"]
        terms: Losses = {}
        if self.reverse:
            terms["cyc_a"] = cfg.cycle * pixel.l1(out["rec_a"], a)
            terms["cyc_b"] = cfg.cycle * pixel.l1(out["rec_b"], b)
        if cfg.identity > 0 and self.reverse:
            terms["idt"] = (
                cfg.identity * cfg.cycle * (pixel.l1(out["idt_b"], b) + pixel.l1(out["idt_a"], a))
            )
        if adversarial_on:
            terms.update(self._adversarial(batch, out))
        if self.backbone is not None and cfg.content > 0:
            layers = cfg.content_layers
            feats = lambda x: list(self.backbone(x, layers=layers).values())  # noqa: E731
            terms["content"] = cfg.content * perceptual_loss(out["fake_b"], a, feats)
        if self.backbone is not None and cfg.style > 0:
            terms["style"] = cfg.style * self._style(out["fake_b"], b)
        return terms

    def _adversarial(self, batch: Batch, out: Batch) -> Losses:
        disc: Any = unwrap(self.discriminators)  # no DDP sync of D's grads in the G step
        fake_a, fake_b = disc.d_a(out["fake_a"]), disc.d_b(out["fake_b"])
        mode, cfg = self.cfg.gan_mode, self.cfg
        terms = {
            "adv": cfg.adversarial
            * (adversarial.g_loss(fake_b, mode) + adversarial.g_loss(fake_a, mode))
        }
        if cfg.feature_matching > 0:
            with torch.no_grad():
                real_a, real_b = disc.d_a(batch["a"]), disc.d_b(batch["b"])
            fm = mean_feature_matching(real_b, fake_b) + mean_feature_matching(real_a, fake_a)
            terms["fm"] = cfg.feature_matching * fm
        return terms

    def _style(self, fake: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Gram MSE (entries normalised by H*W) against the mean Gram of the B crops."""
        assert self.backbone is not None
        layers = self.cfg.style_layers
        with torch.no_grad():
            targets = [
                gram(f).mean(0, keepdim=True) * f.shape[1]
                for f in self.backbone(style, layers=layers).values()
            ]
        fakes = self.backbone(fake, layers=layers).values()
        terms = [
            ((gram(f) * f.shape[1] - t) ** 2).mean() for f, t in zip(fakes, targets, strict=True)
        ]
        return torch.stack(terms).mean()
