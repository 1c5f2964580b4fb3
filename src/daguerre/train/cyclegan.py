"""Unpaired style training: CycleGAN (Zhu et al. 2017, https://arxiv.org/abs/1703.10593).

Two generators (``g_ab``: A -> B, the shipped style; ``g_ba``: B -> A) and two multi-scale
PatchGAN discriminators (``d_a`` judges domain A, ``d_b`` domain B). Objective per step::

    D:  lsgan(d_b(real_b), 1) + lsgan(d_b(pool(fake_b)), 0)  (+ the same for d_a)
    G:  lsgan(d_b(g_ab(a)), 1) + lsgan(d_a(g_ba(b)), 1)                    adversarial
        + cycle * (|g_ba(g_ab(a)) - a| + |g_ab(g_ba(b)) - b|)               cycle, lambda 10
        + identity * cycle * (|g_ab(b) - b| + |g_ba(a) - a|)                identity, 0.5 * lambda
        [+ feature_matching, MobileNetV2 content (g_ab(a) vs a), Gram style (g_ab(a) vs b)]

With ``loss.cycle`` and ``loss.adversarial`` both 0 the objective is a feed-forward style
network's (Johnson et al. 2016): only ``g_ab(a)`` is computed, ``g_ba`` and the discriminators
are neither run nor updated (except under DDP, where every parameter must join each step).

Each generator pair and each discriminator pair is one ``nn.Module``, so under DDP every wrapped
module runs exactly one forward per backward (real and fake go through D as one batch).
A domain may be a single painting: :class:`~daguerre.train.data.UnpairedImages` cuts random
multi-scale crops from it. Resume is exact: samples depend only on the step number, and the
history pools travel with their generator's state in ``trainer_state.pt``.

The config, the wrapped modules and the losses live in :mod:`daguerre.train.cyclegan_task`;
the loop is :class:`~daguerre.train.trainer.Trainer`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from daguerre.nn.factory import build_discriminator, build_generator
from daguerre.train.cyclegan_task import (
    Batch,
    CycleDiscriminators,
    CycleGANConfig,
    CycleGenerators,
    CycleLosses,
)
from daguerre.train.data import UnpairedImages, require_inputs, sample_crops, sample_seed
from daguerre.train.image_pool import ImagePool
from daguerre.train.run import Run
from daguerre.train.trainer import Schedule, Task, Validation
from daguerre.train.validation import write_grid
from daguerre.weights.checkpoint import ModelConfig

# --- data ---------------------------------------------------------------------------------


class UnpairedDomains(Dataset[Batch]):
    """Sample ``n`` = (crop ``n`` of domain A, crop ``n`` of domain B); both seeded by ``n``."""

    def __init__(
        self, a: UnpairedImages, b: UnpairedImages, *, keys: tuple[str, str] = ("a", "b")
    ) -> None:
        self.a, self.b, self.keys = a, b, keys

    def __len__(self) -> int:
        return min(len(self.a), len(self.b))

    def __getitem__(self, index: int) -> Batch:
        """``{"a": (3,S,S), "b": (3,S,S)}`` float32 [0,1] (under ``keys``)."""
        return dict(zip(self.keys, (self.a[index]["image"], self.b[index]["image"]), strict=True))


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


# --- the task -----------------------------------------------------------------------------


class CycleGANTask(Task[Batch]):
    """Trains both generators (optimiser ``g``) and both discriminators (``d``).

    Checkpoints hold ``model``/``ema`` (A->B, so ``weights promote`` ships the style),
    ``model_ba``/``ema_ba``, ``disc_a`` and ``disc_b``; with each one the EMA generators are
    written as model folders: ``RUN/style`` (for ``daguerre stylize --style RUN/style``) and
    ``RUN/reverse``. The history pools and their generator travel in ``trainer_state.pt``.
    """

    config = CycleGANConfig
    headline = ("g", "cyc_a", "cyc_b", "content", "style")

    @classmethod
    def validation_data(cls, cfg: CycleGANConfig, run_dir: Path) -> Batch | None:
        """Fixed ``{"a": (N,3,s,s), "b": (N,3,s,s)}`` crops for the sample grids (None: off)."""
        return sample_crops(make_domains, cfg)

    @classmethod
    def training_data(cls, cfg: CycleGANConfig, run_dir: Path) -> Any:
        """The training crops of both domains.

        Raises:
            ConfigError: a domain is not set.
        """
        require_inputs(cfg.data, a="--a", b="--b")
        return make_domains(cfg)

    def __init__(self, cfg: CycleGANConfig, run: Run) -> None:
        self.cfg, self.run = cfg, run
        o, self.schedule = cfg.optim, Schedule.of(cfg, cfg.sample_every)
        gen, disc = cfg.generator, cfg.discriminator
        build_g = lambda: build_generator(gen.arch, dict(gen.kwargs))  # noqa: E731
        build_d = lambda: build_discriminator(disc.arch, dict(disc.kwargs))  # noqa: E731
        self.gens = CycleGenerators(build_g(), build_g()).to(run.device)
        self.discs = CycleDiscriminators(build_d(), build_d()).to(run.device)
        self.ema_ab = run.ema("ema", self.gens.g_ab)
        self.ema_ba = run.ema("ema_ba", self.gens.g_ba)
        self.model = self.ema_ab.shadow  # the style that ships
        self.nets = {"model": self.gens.g_ab, "model_ba": self.gens.g_ba,
                     "disc_a": self.discs.d_a, "disc_b": self.discs.d_b}  # fmt: skip
        betas = (o.beta1, o.beta2)
        run.adam("g", self.gens.parameters(), lr=o.lr_g, betas=betas, clip=o.grad_clip)
        run.adam("d", self.discs.parameters(), lr=o.lr_d, betas=betas, clip=o.grad_clip)
        self.pool_a, self.pool_b = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)
        self.pool_gen = torch.Generator().manual_seed(sample_seed(cfg.seed, run.dist.rank, 50))
        # g_ba only when a term needs it; under DDP every parameter must take part in a step
        reverse = cfg.loss.needs_reverse or run.dist.world > 1
        self.losses = CycleLosses(run.ddp(self.gens), run.ddp(self.discs), cfg.loss,
                                  self._backbone(), reverse=reverse)  # fmt: skip

    def _backbone(self) -> nn.Module | None:
        if self.cfg.loss.content <= 0 and self.cfg.loss.style <= 0:
            return None
        from daguerre.weights.backbone import load_backbone

        return load_backbone(self.cfg.backbone or None, device=self.run.device)

    def model_config(self) -> ModelConfig:
        """``config.json`` of the A->B generator."""
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

    def exports(self) -> dict[str, tuple[nn.Module, ModelConfig]]:
        """``RUN/style`` (A->B) and ``RUN/reverse`` (B->A), both EMA."""
        return {"style": (self.ema_ab.shadow, self.model_config()),
                "reverse": (self.ema_ba.shadow, self.reverse_config())}  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The history pools and the generator that draws from them."""
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict(),
                "pool_gen": self.pool_gen.get_state()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the pools and their generator."""
        self.pool_a.load_state_dict(state["pool_a"], self.run.device)
        self.pool_b.load_state_dict(state["pool_b"], self.run.device)
        self.pool_gen.set_state(state["pool_gen"])

    def train_step(self, batch: Batch) -> dict[str, float]:
        """Generators forward, one D step on pooled fakes, one G step; returns the scalars."""
        run, adversarial_on = self.run, self.cfg.loss.adversarial > 0
        with run.autocast():
            out = self.losses.generate(batch)
        logs: dict[str, float] = {}
        if adversarial_on:
            # D step: d_a tells real A from (a history of) generated A; d_b likewise for B
            self.discs.requires_grad_(True)
            fake_a = self.pool_a.query(out["fake_a"], self.pool_gen)
            fake_b = self.pool_b.query(out["fake_b"], self.pool_gen)
            with run.autocast():
                d_terms = self.losses.d_losses(batch, fake_a, fake_b)
            logs["d_grad"] = run.backward("d", d_terms["d_a"] + d_terms["d_b"])
            logs.update({k: float(v.detach()) for k, v in d_terms.items()})
        # G step: D is frozen so its weights get no gradient from the generators' objective
        self.discs.requires_grad_(False)
        with run.autocast():
            terms = self.losses.g_losses(batch, out, adversarial_on=adversarial_on)
            g_total = torch.stack(list(terms.values())).sum()
        logs["g_grad"] = run.backward("g", g_total)
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        return {**logs, "g": float(g_total.detach())}

    @torch.no_grad()
    def validate(self, val: Batch) -> Validation:
        """Sample grid: rows ``a | g_ab(a) | g_ba(g_ab(a))``, ``b | g_ba(b) | g_ab(g_ba(b))``."""
        g_ab, g_ba = self.ema_ab.shadow, self.ema_ba.shadow
        rows = []
        for src, fwd, back in ((val["a"], g_ab, g_ba), (val["b"], g_ba, g_ab)):
            x = src.to(self.run.device)
            fake = fwd(x)
            rows += [torch.cat(t, dim=2) for t in zip(x, fake, back(fake), strict=True)]
        write_grid(self.run, torch.cat(rows, dim=1).float().cpu())
        return Validation()
