"""Real old scans as an unpaired domain of the restoration objective.

Bringing-Old-Photos-Back-to-Life's central point: a restorer trained on synthetic pairs only
learns the synthetic damage. :class:`RealDomain` adds what the restorer makes of *real* scans
to the objective: a patch discriminator learns to tell restored real scans from clean photos,
and the generator is pushed to make restored real scans look clean. It judges luminance only,
so it cannot ask for colour on a black-and-white print (clean photos are mostly colour).

The trainer calls :meth:`RealDomain.step` once per training step, after its own G step; the
component owns its discriminator, optimiser, scaler and crop stream, and its state is saved
and resumed with the trainer's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from daguerre.infer.device import channels_last
from daguerre.losses import adversarial
from daguerre.nn.factory import build_discriminator
from daguerre.pipelines.convert import LUMA
from daguerre.train import loop
from daguerre.train.config import TrainConfig


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """``(B,3,H,W)`` float in [0, 1] -> ``(B,1,H,W)`` Rec. 601 luma."""
    weights = torch.tensor(LUMA, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


class RealDomain:
    """Adversarial realism of restored real scans, judged against clean photos' luminance.

    Args:
        cfg: the run config; uses ``data.real`` (folders of real scans), ``data.crop``,
            ``data.batch``, ``loss.real_adversarial`` (the generator term's weight),
            ``loss.gan_mode``, ``optim.lr_d`` and ``optim.beta1/beta2``.
        device: where the discriminator lives.
        amp: run under autocast (the trainer's choice).

    Call :meth:`begin` with the step the run starts or resumes at before the first step (the
    crops then replay exactly as in an uninterrupted run).
    """

    def __init__(self, cfg: TrainConfig, device: torch.device, *, amp: bool) -> None:
        self.cfg, self.device, self.amp = cfg, device, amp
        self.discriminator = build_discriminator(
            "patchgan", {"in_channels": 1, "base_channels": 32, "layers": 3}
        ).to(device)
        self.optimizer = torch.optim.Adam(
            self.discriminator.parameters(),
            lr=cfg.optim.lr_d,
            betas=(cfg.optim.beta1, cfg.optim.beta2),
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=False)
        self.stream: Iterator[dict[str, torch.Tensor]] | None = None

    def begin(self, start_step: int) -> None:
        """Open the stream of real crops for steps ``start_step`` onwards."""
        from daguerre.train.data import UnpairedImages

        cfg = self.cfg
        scans = UnpairedImages(
            [Path(p) for p in cfg.data.real], crop=cfg.data.crop, seed=cfg.seed + 777,
            length=10**12,
        )  # fmt: skip
        self.stream = loop.make_stream(
            scans, start_step=start_step, total_steps=cfg.optim.steps, batch=cfg.data.batch,
            rank=0, world=1, workers=0,
        )  # fmt: skip

    def set_lr(self, multiplier: float) -> None:
        """Scale the discriminator's learning rate with the run's schedule."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.optim.lr_d * multiplier

    def restore(self, generator: nn.Module) -> torch.Tensor:
        """The generator's restoration of the next batch of real crops ``(B,3,S,S)``."""
        assert self.stream is not None, "call begin() first"
        scans = channels_last(next(self.stream)["image"].to(self.device))
        inputs = scans
        if _input_channels(generator) == 4:  # a mask-input restorer sees "no mask"
            inputs = torch.cat([scans, torch.zeros_like(scans[:, :1])], dim=1)
        return generator(inputs)

    def d_step(self, clean: torch.Tensor, restored: torch.Tensor, grad_clip: float) -> float:
        """One discriminator step: clean photos are real, restored scans (detached) fake."""
        self.discriminator.requires_grad_(True)
        with torch.autocast(self.device.type, enabled=self.amp):
            both = torch.cat([luminance(clean), luminance(restored.detach())], dim=0)
            out = self.discriminator(both)
            real, fake = [[f.chunk(2)[0] for f in out]], [[f.chunk(2)[1] for f in out]]
            loss = adversarial.d_loss(real, fake, self.cfg.loss.gan_mode)
        params = list(self.discriminator.parameters())
        loop.optimizer_step(loss, self.optimizer, params, self.scaler, grad_clip)
        self.discriminator.requires_grad_(False)
        return float(loss.detach())

    def g_term(self, restored: torch.Tensor) -> torch.Tensor:
        """The weighted generator loss: restored scans should pass for clean photos."""
        out = self.discriminator(luminance(restored))
        return self.cfg.loss.real_adversarial * adversarial.g_loss([out], self.cfg.loss.gan_mode)

    def state(self) -> dict[str, Any]:
        """Optimiser state for a checkpoint (the discriminator is saved as a net)."""
        return {"opt_real": self.optimizer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` saved."""
        self.optimizer.load_state_dict(state["opt_real"])


def _input_channels(generator: nn.Module) -> int:
    """Input channels of a generator: those of its first convolution."""
    module = getattr(generator, "module", generator)  # DDP wraps the network
    first = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    return int(first.in_channels)
