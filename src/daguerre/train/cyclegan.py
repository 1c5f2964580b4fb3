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

The config, the wrapped modules and the loss task live in :mod:`daguerre.train.cyclegan_task`
and are re-exported here.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from daguerre.config import dump_config
from daguerre.infer.device import channels_last
from daguerre.nn.factory import build_discriminator, build_generator
from daguerre.train import checkpoints, loop
from daguerre.train.cyclegan_task import (
    Batch,
    CycleDataConfig,
    CycleDiscriminators,
    CycleGANConfig,
    CycleGANTask,
    CycleGenerators,
    CycleLossConfig,
    Losses,
    Outputs,
    StyleDiscConfig,
    StyleNetConfig,
    StyleOptimConfig,
    mean_feature_matching,
)
from daguerre.train.data import UnpairedImages, sample_seed
from daguerre.train.distributed import barrier, init_distributed
from daguerre.train.ema import EMA
from daguerre.train.image_pool import ImagePool
from daguerre.train.schedule import linear_decay
from daguerre.train.tblog import RunLogger
from daguerre.weights.checkpoint import ModelConfig, save_model

__all__ = [
    "Batch", "CycleDataConfig", "CycleDiscriminators", "CycleGANConfig", "CycleGANTask",
    "CycleGANTrainer", "CycleGenerators", "CycleLossConfig", "Losses", "Outputs",
    "StyleDiscConfig", "StyleNetConfig", "StyleOptimConfig", "UnpairedDomains", "make_domains",
    "mean_feature_matching", "train_style",
]  # fmt: skip

log = logging.getLogger(__name__)

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
        self.amp, scale = loop.mixed_precision(self.device, cfg.amp)
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=scale)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=scale)
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
        extra = {"mode": "cyclegan", "a": list(data.a), "b": list(data.b), "crop": data.crop}
        return self._generator_config(self.gens.g_ab, "style", extra)

    def reverse_config(self) -> ModelConfig:
        """``config.json`` of the B->A generator (``RUN/reverse``).

        For ``vintage`` (photos -> old scans) it is an unpaired restorer:
        ``daguerre restore -m RUN/reverse``.
        """
        data = self.cfg.data
        extra = {"mode": "cyclegan-reverse", "a": list(data.b), "b": list(data.a)}
        return self._generator_config(self.gens.g_ba, "restore", extra)

    def _generator_config(self, net: nn.Module, kind: str, extra: dict[str, Any]) -> ModelConfig:
        return ModelConfig(
            arch=self.cfg.generator.arch,
            kwargs=dict(self.cfg.generator.kwargs),
            kind=kind,
            pad_multiple=int(getattr(net, "pad_multiple", 1)),
            extra=extra,
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
        save_model(self.run_dir / "reverse", self.ema_ba.shadow, self.reverse_config())
        log.info("saved %s", path)

    # --- the loop ----------------------------------------------------------------------------

    def train_step(self, batch: Batch) -> dict[str, float]:
        """Generators forward, one D step on pooled fakes, one G step; returns the scalars."""
        batch = {k: channels_last(v.to(self.device, non_blocking=True)) for k, v in batch.items()}
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
