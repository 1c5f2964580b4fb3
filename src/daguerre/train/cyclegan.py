"""Unpaired style training: CycleGAN (Zhu et al. 2017, https://arxiv.org/abs/1703.10593).

Two generators (``g_ab``: A -> B, the shipped style; ``g_ba``: B -> A) and two multi-scale
PatchGAN discriminators (``d_a`` judges domain A, ``d_b`` domain B). Objective per step::

    D:  lsgan(d_b(real_b), 1) + lsgan(d_b(pool(fake_b)), 0)  (+ the same for d_a)
    G:  lsgan(d_b(g_ab(a)), 1) + lsgan(d_a(g_ba(b)), 1)                    adversarial
        + cycle * (|g_ba(g_ab(a)) - a| + |g_ab(g_ba(b)) - b|)               cycle, lambda 10
        + identity * cycle * (|g_ab(b) - b| + |g_ba(a) - a|)                identity, 0.5 * lambda
        [+ feature_matching, MobileNetV2 content (g_ab(a) vs a), Gram style (g_ab(a) vs b)]

Each generator pair and each discriminator pair is one ``nn.Module``, so under DDP every wrapped
module runs exactly one forward per backward (real and fake go through D as one batch).
A domain may be a single painting: :class:`~daguerre.train.data.UnpairedImages` cuts random
multi-scale crops from it. Resume is exact: samples depend only on the step number, and the
history pools travel with their generator's state in ``trainer_state.pt``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from daguerre.config import dump_config
from daguerre.losses import adversarial, pixel
from daguerre.losses.perceptual import gram, perceptual_loss
from daguerre.nn.factory import build_discriminator, build_generator
from daguerre.train import checkpoints, loop
from daguerre.train.config import OptimConfig
from daguerre.train.data import UnpairedImages, sample_seed
from daguerre.train.distributed import barrier, init_distributed
from daguerre.train.ema import EMA
from daguerre.train.image_pool import ImagePool
from daguerre.train.schedule import linear_decay
from daguerre.train.tblog import RunLogger
from daguerre.weights.checkpoint import ModelConfig, save_model, unwrap

log = logging.getLogger(__name__)
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
class CycleGANConfig:
    """Everything a style (CycleGAN) run needs; stored in the run folder as YAML."""

    seed: int = 0
    generator: StyleNetConfig = field(default_factory=StyleNetConfig)
    discriminator: StyleDiscConfig = field(default_factory=StyleDiscConfig)
    loss: CycleLossConfig = field(default_factory=CycleLossConfig)
    data: CycleDataConfig = field(default_factory=CycleDataConfig)
    optim: StyleOptimConfig = field(default_factory=StyleOptimConfig)
    pool_size: int = 50
    ema_decay: float = 0.999  # half-life of about 693 steps
    threads: int = 0  # 0: leave torch's default
    log_every: int = 50
    sample_every: int = 500
    checkpoint_minutes: float = 5.0
    keep_checkpoints: int = 2
    amp: bool = True  # mixed precision on CUDA only; ignored on CPU
    backbone: str = ""  # MobileNetV2 weights for content/style terms; "" = search


# --- modules and task ---------------------------------------------------------------------


class CycleGenerators(nn.Module):
    """Both generators in one module: one DDP forward computes every image the losses need."""

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module) -> None:
        super().__init__()
        self.g_ab, self.g_ba = g_ab, g_ba

    def forward(self, a: torch.Tensor, b: torch.Tensor, *, identity: bool) -> Batch:
        """``a``, ``b``: ``(B,3,H,W)`` [0,1] -> fake_b, fake_a, rec_a, rec_b (+ idt_b, idt_a)."""
        n = a.shape[0]
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


class CycleGANTask:
    """Named CycleGAN losses; the trainer owns optimisers, pools and the loop.

    Args:
        generators: a (possibly DDP-wrapped) :class:`CycleGenerators`.
        discriminators: a (possibly DDP-wrapped) :class:`CycleDiscriminators`.
        losses: loss weights.
        backbone: frozen MobileNetV2 (``(B,3,H,W)`` -> dict stage -> features) or None.
    """

    def __init__(
        self,
        generators: nn.Module,
        discriminators: nn.Module,
        losses: CycleLossConfig,
        backbone: nn.Module | None = None,
    ) -> None:
        self.generators, self.discriminators = generators, discriminators
        self.cfg, self.backbone = losses, backbone

    def generate(self, batch: Batch) -> Batch:
        """One forward of both generators."""
        return self.generators(batch["a"], batch["b"], identity=self.cfg.identity > 0)

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
        terms: Losses = {
            "cyc_a": cfg.cycle * pixel.l1(out["rec_a"], a),
            "cyc_b": cfg.cycle * pixel.l1(out["rec_b"], b),
        }
        if cfg.identity > 0:
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


# --- data ---------------------------------------------------------------------------------


class UnpairedDomains(Dataset[Batch]):
    """Sample ``n`` = (crop ``n`` of domain A, crop ``n`` of domain B); both seeded by ``n``."""

    def __init__(self, a: UnpairedImages, b: UnpairedImages) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return min(len(self.a), len(self.b))

    def __getitem__(self, index: int) -> Batch:
        """``{"a": (3,S,S), "b": (3,S,S)}`` float32 [0,1]."""
        return {"a": self.a[index]["image"], "b": self.b[index]["image"]}


def make_domains(cfg: CycleGANConfig, *, crop: int | None = None, length: int = 10**12) -> Any:
    """The training dataset (or, with ``crop``, the fixed sample crops) of a config."""
    data = cfg.data

    def domain(paths: tuple[str, ...], offset: int) -> UnpairedImages:
        return UnpairedImages(
            [Path(p) for p in paths],
            crop=crop or data.crop,
            scale_range=data.scale_range,
            seed=sample_seed(cfg.seed, offset),
            length=length,
            max_side=data.max_side,
        )

    return UnpairedDomains(domain(data.a, 1), domain(data.b, 2))


# --- trainer ------------------------------------------------------------------------------


class CycleGANTrainer:
    """Trains both generators and both discriminators; same qualities as the restore trainer.

    Args:
        cfg: the resolved config (stored in the run folder).
        run_dir: ``config.resolved.yaml``, ``tb/``, ``metrics.jsonl``, ``checkpoints/``,
            ``samples/`` and ``style/`` (the EMA A->B generator as a model folder for
            ``daguerre stylize --style RUN/style``).
        device: torch device; under torchrun each rank gets its own.
        resume: continue from the newest checkpoint in ``run_dir`` if there is one.
    """

    def __init__(
        self, cfg: CycleGANConfig, run_dir: Path, *, device: torch.device, resume: bool = False
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist = init_distributed(device)
        self.device = self.dist.device
        with torch.random.fork_rng(devices=[]):  # weight init only; global RNG left untouched
            torch.manual_seed(cfg.seed)
            build_g = lambda: build_generator(cfg.generator.arch, dict(cfg.generator.kwargs))  # noqa: E731
            build_d = lambda: build_discriminator(  # noqa: E731
                cfg.discriminator.arch, dict(cfg.discriminator.kwargs)
            )
            self.gens = CycleGenerators(build_g(), build_g()).to(self.device)
            self.discs = CycleDiscriminators(build_d(), build_d()).to(self.device)
        self.ema_ab = EMA(self.gens.g_ab, decay=cfg.ema_decay)
        self.ema_ba = EMA(self.gens.g_ba, decay=cfg.ema_decay)
        o = cfg.optim
        self.opt_g = torch.optim.Adam(self.gens.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
        self.opt_d = torch.optim.Adam(self.discs.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
        self.amp = cfg.amp and self.device.type == "cuda"
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.pool_a, self.pool_b = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)
        self.pool_gen = torch.Generator().manual_seed(sample_seed(cfg.seed, self.dist.rank, 50))
        self.step = 0
        if resume:
            self._resume()
        self.g_train: nn.Module = self.gens
        self.d_train: nn.Module = self.discs
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DistributedDataParallel(self.gens, device_ids=ids)
            self.d_train = DistributedDataParallel(self.discs, device_ids=ids)
        self.task = CycleGANTask(self.g_train, self.d_train, cfg.loss, self._backbone())
        self.logger = RunLogger(self.run_dir, enabled=self.dist.is_main)

    def _backbone(self) -> nn.Module | None:
        if self.cfg.loss.content <= 0 and self.cfg.loss.style <= 0:
            return None
        from daguerre.weights.backbone import load_backbone

        return load_backbone(self.cfg.backbone or None, device=self.device)

    def model_config(self) -> ModelConfig:
        """``config.json`` of the A->B generator (the style that ships)."""
        data = self.cfg.data
        return ModelConfig(
            arch=self.cfg.generator.arch,
            kwargs=dict(self.cfg.generator.kwargs),
            kind="style",
            pad_multiple=int(getattr(self.gens.g_ab, "pad_multiple", 1)),
            extra={"mode": "cyclegan", "a": list(data.a), "b": list(data.b), "crop": data.crop},
        )

    def _nets(self) -> dict[str, nn.Module]:
        return {
            "model": self.gens.g_ab,  # model/ema = A->B, so `weights promote` ships the style
            "ema": self.ema_ab.shadow,
            "model_ba": self.gens.g_ba,
            "ema_ba": self.ema_ba.shadow,
            "disc_a": self.discs.d_a,
            "disc_b": self.discs.d_b,
        }

    def _resume(self) -> None:
        found = checkpoints.checkpoint_dirs(self.run_dir)
        if not found:
            log.info("no checkpoint in %s; starting from scratch", self.run_dir)
            return
        state = checkpoints.load_checkpoint(found[-1], self._nets())
        for name in ("opt_g", "opt_d", "scaler_g", "scaler_d"):
            getattr(self, name).load_state_dict(state[name])
        self.pool_a.load_state_dict(state["pool_a"], self.device)
        self.pool_b.load_state_dict(state["pool_b"], self.device)
        self.pool_gen.set_state(state["pool_gen"])
        self.step = int(state["step"])
        log.info("resumed from %s at step %d", found[-1], self.step)

    def _save(self) -> None:
        if not self.dist.is_main:
            return
        state = {name: getattr(self, name).state_dict() for name in ("opt_g", "opt_d")}
        state |= {name: getattr(self, name).state_dict() for name in ("scaler_g", "scaler_d")}
        state |= {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}
        state |= {"pool_gen": self.pool_gen.get_state(), "step": self.step}
        path = checkpoints.save_checkpoint(
            self.run_dir, self.step, self._nets(), self.model_config(), state,
            keep=self.cfg.keep_checkpoints,
        )  # fmt: skip
        save_model(self.run_dir / "style", self.ema_ab.shadow, self.model_config())
        log.info("saved %s", path)

    # --- the loop ----------------------------------------------------------------------------

    def train_step(self, batch: Batch) -> dict[str, float]:
        """Generators forward, one D step on pooled fakes, one G step; returns the scalars."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        mult = linear_decay(self.step, self.cfg.optim.steps, self.cfg.optim.decay_start)
        for opt, lr in ((self.opt_g, self.cfg.optim.lr_g), (self.opt_d, self.cfg.optim.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * mult
        adversarial_on, clip = self.cfg.loss.adversarial > 0, self.cfg.optim.grad_clip
        with torch.autocast(self.device.type, enabled=self.amp):
            out = self.task.generate(batch)
        logs: dict[str, float] = {}
        if adversarial_on:
            # D step: d_a tells real A from (a history of) generated A; d_b likewise for B
            self.discs.requires_grad_(True)
            fake_a = self.pool_a.query(out["fake_a"], self.pool_gen)
            fake_b = self.pool_b.query(out["fake_b"], self.pool_gen)
            with torch.autocast(self.device.type, enabled=self.amp):
                d_terms = self.task.d_losses(batch, fake_a, fake_b)
                d_total = d_terms["d_a"] + d_terms["d_b"]
            params = list(self.discs.parameters())
            logs["d_grad"] = loop.optimizer_step(d_total, self.opt_d, params, self.scaler_d, clip)
            logs.update({k: float(v.detach()) for k, v in d_terms.items()})
        # G step: D is frozen so its weights get no gradient from the generators' objective
        self.discs.requires_grad_(False)
        with torch.autocast(self.device.type, enabled=self.amp):
            terms = self.task.g_losses(batch, out, adversarial_on=adversarial_on)
            g_total = torch.stack(list(terms.values())).sum()
        params = list(self.gens.parameters())
        logs["g_grad"] = loop.optimizer_step(g_total, self.opt_g, params, self.scaler_g, clip)
        self.ema_ab.update(self.gens.g_ab)
        self.ema_ba.update(self.gens.g_ba)
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        logs["g"] = float(g_total.detach())
        return logs

    def fit(self, dataset: Dataset[Batch], samples: Batch | None = None) -> None:
        """Train until ``cfg.optim.steps``; checkpoints every few minutes and at the end.

        Args:
            dataset: items ``{"a": (3,S,S), "b": (3,S,S)}``; item ``n`` is used at step
                ``n // batch`` (see :class:`~daguerre.train.loop.StepSampler`).
            samples: fixed ``{"a": (N,3,s,s), "b": (N,3,s,s)}`` for the sample grids.
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
        self.gens.train()
        self.discs.train()
        for batch in stream:
            logs = self.train_step(batch)
            self.step += 1
            info = f"g {logs['g']:.3f} cyc {logs['cyc_a'] + logs['cyc_b']:.3f}"
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
        """Rows ``a | g_ab(a) | g_ba(g_ab(a))`` then ``b | g_ba(b) | g_ab(g_ba(b))``, EMA nets."""
        if not self.dist.is_main:
            return
        from daguerre.io.image import write_image

        g_ab, g_ba = self.ema_ab.shadow, self.ema_ba.shadow
        rows = []
        for src, fwd, back in ((samples["a"], g_ab, g_ba), (samples["b"], g_ba, g_ab)):
            x = src.to(self.device)
            fake = fwd(x)
            rows += [torch.cat(t, dim=2) for t in zip(x, fake, back(fake), strict=True)]
        grid = torch.cat(rows, dim=1).float().cpu()
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, grid)
        self.logger.image(self.step, "samples", grid)


def train_style(
    cfg: CycleGANConfig, run_dir: Path, *, device: str = "auto", resume: bool = False
) -> Path:
    """Train (or resume) a CycleGAN style from ``cfg.data.a`` to ``cfg.data.b``; the run folder."""
    from daguerre.errors import ConfigError
    from daguerre.infer.device import resolve_device, set_threads

    if cfg.threads > 0:
        set_threads(cfg.threads)
    if not cfg.data.a or not cfg.data.b:
        raise ConfigError("data.a and data.b must both be set: pass --a and --b")
    trainer = CycleGANTrainer(cfg, run_dir, device=resolve_device(device), resume=resume)
    samples = None
    if trainer.dist.is_main and cfg.data.sample_images > 0:
        fixed = make_domains(cfg, crop=cfg.data.sample_crop, length=cfg.data.sample_images)
        items = [fixed[i] for i in range(len(fixed))]
        samples = {k: torch.stack([item[k] for item in items]) for k in ("a", "b")}
    trainer.fit(make_domains(cfg), samples)
    return Path(run_dir)
