"""The restoration task: a conditional GAN on synthetic (degraded, clean) pairs.

pix2pix / pix2pixHD (https://arxiv.org/abs/1611.07004, https://arxiv.org/abs/1711.11585): a
generator restores the degraded crop; a multi-scale PatchGAN sees (condition, image) pairs.
Per step, after ``loss.adversarial_start`` steps of pure reconstruction::

    D:  gan(d(cond, clean), real) + gan(d(cond, g(cond)), fake)
    G:  adversarial + l1 * |g(cond) - clean| + feature matching + MobileNetV2 perceptual
        [+ masked L1, SSIM, frequency, real-scan realism (:mod:`daguerre.train.real_domain`)]

The loop, EMA, checkpoints and resume are :class:`~daguerre.train.trainer.Trainer`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from daguerre.losses import adversarial, pixel
from daguerre.losses.perceptual import perceptual_loss
from daguerre.nn.factory import build_discriminator, build_generator
from daguerre.train.checkpoints import init_weights
from daguerre.train.config import LossConfig, TrainConfig
from daguerre.train.real_domain import RealDomain
from daguerre.train.run import Batch, Run
from daguerre.train.trainer import Schedule, Task, Validation
from daguerre.train.validation import PairedValidator
from daguerre.weights.checkpoint import ModelConfig, unwrap

log = logging.getLogger(__name__)

Losses = dict[str, torch.Tensor]
Features = Callable[[torch.Tensor], Sequence[torch.Tensor]]

# --- losses ---------------------------------------------------------------------------------


class Pix2PixLosses:
    """Paired restoration losses: ``batch["degraded"] -> batch["clean"]``.

    ``generator`` and the 6-channel ``discriminator`` may be DDP-wrapped; ``features`` is the
    frozen network of the perceptual term (None: no perceptual term).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        losses: LossConfig,
        features: Features | None = None,
    ) -> None:
        self.generator, self.discriminator = generator, discriminator
        self.cfg, self.features = losses, features

    def generate(self, batch: Batch) -> torch.Tensor:
        """Generator forward: ``(B,3,H,W)`` restored image.

        With a ``mask_in`` entry (``(B,1,H,W)``, 1 = damaged) the generator gets it as a 4th
        input channel and learns to inpaint the marked pixels.
        """
        if "mask_in" in batch:
            return self.generator(torch.cat([batch["degraded"], batch["mask_in"]], dim=1))
        return self.generator(batch["degraded"])

    def d_loss(self, batch: Batch, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator loss on real pairs vs (detached) fake pairs."""
        cond = batch["degraded"]
        pairs = torch.cat(
            [torch.cat([cond, batch["clean"]], dim=1), torch.cat([cond, fake.detach()], dim=1)],
            dim=0,
        )
        # one forward over real and fake together: DDP allows a single forward per backward
        outs = self.discriminator(pairs)
        real_out = [[f.chunk(2)[0] for f in scale] for scale in outs]
        fake_out = [[f.chunk(2)[1] for f in scale] for scale in outs]
        return adversarial.d_loss(real_out, fake_out, self.cfg.gan_mode)

    def g_losses(self, batch: Batch, fake: torch.Tensor, *, adversarial_on: bool) -> Losses:
        """Named generator terms, already weighted; their sum is the G objective."""
        cfg, clean = self.cfg, batch["clean"]
        out: Losses = {"l1": cfg.l1 * pixel.l1(fake, clean)}
        if cfg.masked_l1 > 0 and "mask_in" in batch:
            out["l1_mask"] = cfg.masked_l1 * pixel.l1(fake, clean, batch["mask_in"])
        if adversarial_on and cfg.adversarial > 0:
            out.update(self._adversarial(batch["degraded"], clean, fake))
        if self.features is not None and cfg.perceptual > 0:
            out["perc"] = cfg.perceptual * perceptual_loss(fake, clean, self.features)
        if cfg.ssim > 0:
            out["ssim"] = cfg.ssim * pixel.ssim_loss(fake, clean)
        if cfg.frequency > 0:
            out["freq"] = cfg.frequency * pixel.frequency_l1(fake, clean)
        return out

    def _adversarial(self, cond: torch.Tensor, clean: torch.Tensor, fake: torch.Tensor) -> Losses:
        cfg = self.cfg
        disc = unwrap(self.discriminator)  # no DDP sync for D's grads in the G step
        fake_out = disc(torch.cat([cond, fake], dim=1))
        out = {"adv": cfg.adversarial * adversarial.g_loss(fake_out, cfg.gan_mode)}
        if cfg.feature_matching > 0:
            with torch.no_grad():
                real_out = disc(torch.cat([cond, clean], dim=1))
            out["fm"] = cfg.feature_matching * adversarial.feature_matching(real_out, fake_out)
        return out


# --- the task -------------------------------------------------------------------------------


class RestoreTask(Task[PairedValidator]):
    """Trains a generator + multi-scale PatchGAN; ``RUN/best`` is the EMA generator by PSNR.

    Checkpoints: ``model``, ``ema``, ``disc`` (and ``real_disc``); optimisers ``g``, ``d``.

    Raises:
        CheckpointMismatchError: ``cfg.init`` does not fit the generator.
        ValueError: ``loss.real_adversarial`` without ``data.real``, or under DDP.
    """

    config = TrainConfig
    headline = ("g", "l1")

    def __init__(self, cfg: TrainConfig, run: Run) -> None:
        self.cfg, self.run = cfg, run
        o, self.schedule = cfg.optim, Schedule.of(cfg, cfg.val_every)
        self.generator = build_generator(cfg.generator.arch, dict(cfg.generator.kwargs))
        self.generator.to(run.device)
        self.discriminator = build_discriminator(
            cfg.discriminator.arch, dict(cfg.discriminator.kwargs)
        ).to(run.device)
        if cfg.init:
            init_weights(self.generator, cfg.init, cfg.init_new_layers)
        self.ema = run.ema("ema", self.generator)
        self.model = self.ema.shadow
        betas = (o.beta1, o.beta2)
        run.adam("g", self.generator.parameters(), lr=o.lr_g, betas=betas, clip=o.grad_clip)
        run.adam("d", self.discriminator.parameters(), lr=o.lr_d, betas=betas, clip=o.grad_clip)
        self.real = self._real_domain()
        self.nets = {"model": self.generator, "disc": self.discriminator}
        if self.real is not None:
            self.nets["real_disc"] = self.real.discriminator
        self.g_train, d_train = run.ddp(self.generator), run.ddp(self.discriminator)
        self.losses = Pix2PixLosses(self.g_train, d_train, cfg.loss, self._features())

    @classmethod
    def training_data(cls, cfg: TrainConfig, run_dir: Path) -> Any:
        """Clean photos degraded on the fly, one sample per global sample number.

        Raises:
            ConfigError: ``data.train`` is empty.
        """
        from daguerre.train.data import SyntheticPairs, require_inputs

        require_inputs(cfg.data, train="--data")
        return SyntheticPairs(
            [Path(p) for p in cfg.data.train],
            preset=cfg.data.preset,
            crop=cfg.data.crop,
            seed=cfg.seed,
            length=10**12,  # the step sampler asks for global sample numbers; photos cycle
            mask_dropout=cfg.data.mask_dropout if cfg.data.mask_channel else None,
            mask_noise=cfg.data.mask_noise if cfg.data.mask_channel else 0.0,
            prefill=cfg.data.prefill and cfg.data.mask_channel,
        )

    @classmethod
    def validation_data(cls, cfg: TrainConfig, run_dir: Path) -> PairedValidator | None:
        """Fixed pairs: centre crops of the first val photos, degraded with a fixed seed."""
        if not cfg.data.val:
            return None
        from daguerre.degrade.chain import apply_to_target, run
        from daguerre.degrade.presets import build_preset
        from daguerre.io.discover import collect_inputs
        from daguerre.io.image import read_image

        paths, _ = collect_inputs(list(cfg.data.val), recursive=True)
        size = cfg.data.val_crop
        clean = []
        for path in paths[: cfg.data.val_images]:
            rgb = read_image(path).rgb
            if min(rgb.shape[-2:]) < size:
                continue
            top, left = (rgb.shape[1] - size) // 2, (rgb.shape[2] - size) // 2
            clean.append(rgb[:, top : top + size, left : left + size])
        if not clean:
            log.warning("no validation image of at least %d px in %s", size, cfg.data.val)
            return None
        clean_t = torch.stack(clean)
        gen = torch.Generator("cpu").manual_seed(cfg.seed + 12345)
        op = build_preset(cfg.data.preset)
        result = run(op, clean_t, gen)
        target = apply_to_target(op, clean_t, result.params)
        extra = int(cfg.data.mask_channel)  # validate without a mask (--scratches off)
        return PairedValidator(result.image, target, extra_channels=extra)

    def _real_domain(self) -> RealDomain | None:
        """The real-scan objective, when the config asks for it (single process only)."""
        if self.cfg.loss.real_adversarial <= 0:
            return None
        if not self.cfg.data.real:
            raise ValueError("loss.real_adversarial needs data.real: folders of real old scans")
        if self.run.dist.world > 1:
            raise ValueError("loss.real_adversarial runs in a single process, not under DDP")
        return RealDomain(self.cfg, self.run)

    def _features(self) -> Features | None:
        if self.cfg.loss.perceptual <= 0:
            return None
        from daguerre.weights.backbone import load_backbone

        backbone = load_backbone(self.cfg.backbone or None).to(self.run.device)
        layers = tuple(self.cfg.loss.perceptual_layers)
        return lambda x: list(backbone(x, layers=layers).values())

    def model_config(self) -> ModelConfig:
        """The ``config.json`` describing the generator."""
        depth = int(self.cfg.generator.kwargs.get("depth", 5))
        return ModelConfig(
            arch=self.cfg.generator.arch,
            kwargs=dict(self.cfg.generator.kwargs),
            kind="generator",
            pad_multiple=2**depth,
            degradation_preset=self.cfg.data.preset,
            extra={"mask_channel": self.cfg.data.mask_channel},
        )

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One D step then one G step on ``batch`` (``degraded``, ``clean``, ``mask_in``)."""
        run, loss_cfg = self.run, self.cfg.loss
        adversarial_on = run.step >= loss_cfg.adversarial_start and loss_cfg.adversarial > 0
        with run.autocast():
            fake = self.losses.generate(batch)
            real_fake = self.real.restore(self.g_train) if self.real is not None else None
        logs: dict[str, float] = {}
        if self.real is not None and real_fake is not None:
            logs["d_real"] = self.real.d_step(batch["clean"], real_fake)
        if adversarial_on:
            # D step: D learns to tell (condition, clean) from (condition, restored)
            self.discriminator.requires_grad_(True)
            with run.autocast():
                d_loss = self.losses.d_loss(batch, fake)
            logs["d"] = float(d_loss.detach())
            logs["d_grad"] = run.backward("d", d_loss)
        # G step: D is frozen so its weights get no gradient from the generator's objective
        self.discriminator.requires_grad_(False)
        with run.autocast():
            terms = self.losses.g_losses(batch, fake, adversarial_on=adversarial_on)
            if self.real is not None and real_fake is not None:
                terms["real_adv"] = self.real.g_term(real_fake)
            g_total = torch.stack(list(terms.values())).sum()
        logs["g_grad"] = run.backward("g", g_total)
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        return {**logs, "g": float(g_total.detach())}

    def validate(self, val: PairedValidator) -> Validation:
        """PSNR/SSIM of the EMA generator on the fixed pairs; the best PSNR is ``RUN/best``."""
        metrics = val.evaluate(
            self.ema.shadow, self.run.device, self.run.run_dir / "samples", self.run.step
        )
        return Validation(metrics, (metrics["psnr"],))
