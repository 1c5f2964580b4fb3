"""The restoration GAN trainer: an explicit D-step / G-step loop with EMA, checkpoints and resume.

Usage (one process, or under ``torchrun --nproc_per_node=N -m daguerre train restore ...``)::

    trainer = RestoreTrainer(cfg, run_dir)
    trainer.fit()
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from daguerre.config import dump_config
from daguerre.infer.device import channels_last
from daguerre.nn.factory import build_discriminator, build_generator
from daguerre.train import checkpoints, loop
from daguerre.train.config import TrainConfig
from daguerre.train.distributed import DistInfo, barrier, init_distributed
from daguerre.train.ema import EMA
from daguerre.train.real_domain import RealDomain
from daguerre.train.schedule import linear_decay
from daguerre.train.tasks import Pix2PixTask
from daguerre.train.tblog import RunLogger
from daguerre.train.validation import PairedValidator
from daguerre.weights.checkpoint import ModelConfig, save_model

log = logging.getLogger(__name__)


class RestoreTrainer:
    """Trains a generator + multi-scale PatchGAN on synthetic (degraded, clean) pairs.

    Args:
        cfg: the resolved training config (stored in the run folder and every checkpoint).
        run_dir: output folder: ``config.resolved.yaml``, ``tb/``, ``checkpoints/``, ``samples/``.
        device: torch device; under torchrun each rank gets its own.
        resume: continue from the newest checkpoint in ``run_dir`` if there is one.
    """

    def __init__(
        self, cfg: TrainConfig, run_dir: Path, *, device: torch.device, resume: bool = False
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist: DistInfo = init_distributed(device)
        self.device = self.dist.device
        torch.manual_seed(
            cfg.seed + self.dist.rank
        )  # weight init + dropout only; data has its own seeds
        self.generator = build_generator(cfg.generator.arch, dict(cfg.generator.kwargs)).to(
            self.device
        )
        self.discriminator = build_discriminator(
            cfg.discriminator.arch, dict(cfg.discriminator.kwargs)
        ).to(self.device)
        self.ema = EMA(self.generator, decay=cfg.ema_decay)
        o = cfg.optim
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2)
        )
        self.opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2)
        )
        self.amp, scale = loop.mixed_precision(self.device, cfg.amp)
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=scale)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=scale)
        if self.amp:
            log.info("mixed precision: %s autocast", "fp16" if scale else "bf16")
        self.real = self._real_domain()
        self.step = 0
        self.best_psnr = float("-inf")
        if cfg.init:
            self._init_generator(cfg.init)
        if resume:
            self._resume()
        self._wrap_ddp()
        self.task = Pix2PixTask(self.g_train, self.d_train, cfg.loss, self._features())
        self.logger = RunLogger(self.run_dir, enabled=self.dist.is_main)

    # --- setup -------------------------------------------------------------------------------

    def _wrap_ddp(self) -> None:
        self.g_train: nn.Module = self.generator
        self.d_train: nn.Module = self.discriminator
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DistributedDataParallel(self.generator, device_ids=ids)
            self.d_train = DistributedDataParallel(self.discriminator, device_ids=ids)

    def _real_domain(self) -> RealDomain | None:
        """The real-scan objective, when the config asks for it (single process only)."""
        if self.cfg.loss.real_adversarial <= 0:
            return None
        if not self.cfg.data.real:
            raise ValueError("loss.real_adversarial needs data.real: folders of real old scans")
        if self.dist.world > 1:
            raise ValueError("loss.real_adversarial runs in a single process, not under DDP")
        return RealDomain(self.cfg, self.device, amp=self.amp)

    def _features(self) -> Any:
        if self.cfg.loss.perceptual <= 0:
            return None
        from daguerre.weights.backbone import load_backbone

        backbone = load_backbone(self.cfg.backbone or None).to(self.device)
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

    def _nets(self) -> dict[str, nn.Module]:
        nets = {"model": self.generator, "ema": self.ema.shadow, "disc": self.discriminator}
        if self.real is not None:
            nets["real_disc"] = self.real.discriminator
        return nets

    def _init_generator(self, name_or_dir: str) -> None:
        """Fine-tune: copy a saved generator's weights into the model and its EMA (strict)."""
        from daguerre.weights import model_dir
        from daguerre.weights.checkpoint import load_state_into

        path = model_dir(name_or_dir) / "model.safetensors"
        new = tuple(self.cfg.init_new_layers)
        load_state_into(self.generator, path, new_prefixes=new)
        self.ema.shadow.load_state_dict(self.generator.state_dict())
        log.info("generator initialised from %s%s", path, f" (new layers: {new})" if new else "")

    def _resume(self) -> None:
        found = checkpoints.checkpoint_dirs(self.run_dir)
        if not found:
            log.info("no checkpoint in %s; starting from scratch", self.run_dir)
            return
        state = checkpoints.load_checkpoint(found[-1], self._nets())
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.step = int(state["step"])
        self.best_psnr = float(state["best_psnr"])
        if self.real is not None:
            self.real.load_state(state)
        log.info("resumed from %s at step %d", found[-1], self.step)

    def _save(self) -> None:
        if not self.dist.is_main:
            return
        state = {
            "step": self.step,
            "best_psnr": self.best_psnr,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            **(self.real.state() if self.real is not None else {}),
        }
        path = checkpoints.save_checkpoint(
            self.run_dir,
            self.step,
            self._nets(),
            self.model_config(),
            state,
            keep=self.cfg.keep_checkpoints,
        )
        log.info("saved %s", path)

    # --- the loop ----------------------------------------------------------------------------

    def _set_lr(self) -> None:
        mult = linear_decay(self.step, self.cfg.optim.steps, self.cfg.optim.decay_start)
        for group in self.opt_g.param_groups:
            group["lr"] = self.cfg.optim.lr_g * mult
        for group in self.opt_d.param_groups:
            group["lr"] = self.cfg.optim.lr_d * mult
        if self.real is not None:
            self.real.set_lr(mult)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One D step then one G step on ``batch``; returns the logged scalars."""
        batch = {
            k: channels_last(v.to(self.device, non_blocking=True))
            for k, v in batch.items()
            if torch.is_tensor(v)
        }
        adversarial_on = (
            self.step >= self.cfg.loss.adversarial_start and self.cfg.loss.adversarial > 0
        )
        clip = self.cfg.optim.grad_clip
        with torch.autocast(self.device.type, enabled=self.amp):
            fake = self.task.generate(batch)
            real_fake = self.real.restore(self.g_train) if self.real is not None else None
        logs: dict[str, float] = {}
        if self.real is not None and real_fake is not None:
            logs["d_real"] = self.real.d_step(batch["clean"], real_fake, clip)
        if adversarial_on:
            # D step: D learns to tell (condition, clean) from (condition, restored)
            self.discriminator.requires_grad_(True)
            with torch.autocast(self.device.type, enabled=self.amp):
                d_loss = self.task.d_losses(batch, fake)["d"]
            params = list(self.discriminator.parameters())
            logs["d"] = float(d_loss.detach())
            logs["d_grad"] = loop.optimizer_step(d_loss, self.opt_d, params, self.scaler_d, clip)
        # G step: D is frozen so its weights get no gradient from the generator's objective
        self.discriminator.requires_grad_(False)
        with torch.autocast(self.device.type, enabled=self.amp):
            terms = self.task.g_losses(batch, fake, adversarial_on=adversarial_on)
            if self.real is not None and real_fake is not None:
                terms["real_adv"] = self.real.g_term(real_fake)
            g_total = torch.stack(list(terms.values())).sum()
        params = list(self.generator.parameters())
        logs["g_grad"] = loop.optimizer_step(g_total, self.opt_g, params, self.scaler_g, clip)
        self.ema.update(self.generator)
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        logs["g"] = float(g_total.detach())
        return logs

    def fit(self, dataset: Any, validator: PairedValidator | None = None) -> None:
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
        if self.real is not None:
            self.real.begin(self.step)
        progress = loop.Progress(start=self.step, total=cfg.optim.steps, enabled=self.dist.is_main)
        last_save = time.monotonic()
        self.generator.train()
        self.discriminator.train()
        for batch in stream:
            self._set_lr()
            logs = self.train_step(batch)
            self.step += 1
            info = f"g {logs['g']:.3f} l1 {logs['l1']:.3f}"
            progress.update(self.step, info, force=self.step % cfg.log_every == 0)
            if self.step % cfg.log_every == 0:
                self.logger.scalars(self.step, logs)
            if validator is not None and (
                self.step % cfg.val_every == 0 or self.step == cfg.optim.steps
            ):
                self._validate(validator)
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                self._save()
                last_save = time.monotonic()
            if self.dist.world > 1 and self.step % 1000 == 0:
                barrier(self.dist)
        progress.close()
        self._save()
        self.logger.close()

    def _validate(self, validator: PairedValidator) -> None:
        if not self.dist.is_main:
            return
        metrics = validator.evaluate(
            self.ema.shadow, self.device, self.run_dir / "samples", self.step
        )
        self.logger.scalars(self.step, metrics, prefix="val")
        log.info(
            "val step %d: %s", self.step, "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        )
        if metrics["psnr"] > self.best_psnr:
            self.best_psnr = metrics["psnr"]
            save_model(self.run_dir / "best", self.ema.shadow, self.model_config())
            (self.run_dir / "best" / "metrics.txt").write_text(f"step {self.step}\n{metrics}\n")
