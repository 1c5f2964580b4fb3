"""Typed, frozen training configs (loaded strictly by :mod:`daguerre.config`).

:class:`RunConfig` holds what every run shares (seed, threads, precision, EMA, logging and
checkpoints); each model kind's config derives from it and adds its own sections, so the YAML
keys of ``configs/train/*.yaml`` stay where they are. :class:`TrainConfig` is the restorer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class RunConfig:
    """The run options every model kind shares, read by :class:`~daguerre.train.trainer.Trainer`."""

    seed: int = 0  # weight init; datasets derive their own seeds from it
    threads: int = 0  # 0: leave torch's default
    amp: bool = True  # mixed precision: fp16 on CUDA, bf16 on a CPU with native bf16, else off
    ema_decay: float = 0.999  # half-life of about 693 steps; 0 keeps the average at the model
    log_every: int = 50  # steps between logged scalars (TensorBoard, metrics.jsonl, W&B)
    checkpoint_minutes: float = 5.0  # a checkpoint at least this often, and one at the end
    keep_checkpoints: int = 2  # the newest ones stay, older ones are deleted


def _unet_defaults() -> dict[str, Any]:
    return {
        "base_channels": 24,
        "depth": 5,
        "max_channels": 128,
        "level_convs": 1,
        "bottleneck_blocks": 3,
    }


def _disc_defaults() -> dict[str, Any]:
    return {"base_channels": 32, "layers": 3, "num_scales": 2, "spectral": True}


@dataclass(frozen=True)
class NetConfig:
    """A network by registry name plus constructor kwargs."""

    arch: str = "unet"
    kwargs: dict[str, Any] = field(default_factory=_unet_defaults)


@dataclass(frozen=True)
class LossConfig:
    """Loss weights. Zero disables a term (the perceptual term then needs no backbone)."""

    gan_mode: Literal["vanilla", "lsgan", "hinge"] = "lsgan"
    adversarial: float = 1.0
    l1: float = 10.0  # pixel term dominates early; keeps colours faithful
    feature_matching: float = 2.0  # pix2pixHD uses 10 with VGG; ours has fewer layers
    perceptual: float = 1.0  # MobileNetV2 features
    perceptual_layers: tuple[int, ...] = (3, 6, 13)
    masked_l1: float = 0.0  # extra L1 inside the defect mask (inpainting), area-normalised
    ssim: float = 0.0
    frequency: float = 0.0
    adversarial_start: int = 1000  # steps of pure reconstruction before D joins (stabilises)
    # weight of the real-scan term (train.real_domain): restored real scans vs clean photos
    real_adversarial: float = 0.0


@dataclass(frozen=True)
class DataConfig:
    """Where pairs come from: clean photos degraded on the fly."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    preset: str = "restore-mix"
    crop: int = 128
    batch: int = 4
    workers: int = 1
    val_images: int = 16
    val_crop: int = 256
    mask_channel: bool = False  # feed the defect mask as a 4th input channel (inpainting)
    mask_dropout: float = 0.3  # with mask_channel: probability that the mask input is zeroed
    mask_noise: float = 0.0  # with mask_channel: share of detector-like masks (train.mask_noise)
    prefill: bool = False  # with mask_channel: masked pixels pre-filled by Telea; the net refines
    real: tuple[str, ...] = ()  # folders of real old scans: the unpaired domain (real_domain)


@dataclass(frozen=True)
class AdamWConfig:
    """AdamW for the small whole-image nets (grade, kind): constant, then linear decay to 0."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    steps: int = 3000
    decay_start: float = 0.5


@dataclass(frozen=True)
class OptimConfig:
    """Adam settings and the learning-rate schedule (constant, then linear decay to 0)."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    steps: int = 30000
    decay_start: float = 0.6  # fraction of steps after which the LR decays linearly to 0
    grad_clip: float = 1.0


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """Everything a restoration (pix2pix-style) training run needs."""

    generator: NetConfig = field(default_factory=NetConfig)
    discriminator: NetConfig = field(
        default_factory=lambda: NetConfig(arch="multiscale", kwargs=_disc_defaults())
    )
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    val_every: int = 1000
    backbone: str = ""  # path to MobileNetV2 weights; "" = search the usual places
    init: str = ""  # start the generator (and its EMA) from a model folder or shipped name
    # layers the init weights may lack (added to the trained network, e.g. ["refine."] for
    # new zero-initialised UNet level_blocks); everything else must match exactly
    init_new_layers: tuple[str, ...] = ()
