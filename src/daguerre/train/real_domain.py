"""Real old scans as an unpaired domain of the restoration objective.

Bringing-Old-Photos-Back-to-Life's central point: a restorer trained on synthetic pairs only
learns the synthetic damage. :class:`RealDomain` adds what the restorer makes of *real* scans
to the objective: a patch discriminator learns to tell restored real scans from clean photos,
and the generator is pushed to make restored real scans look clean. It judges luminance only,
so it cannot ask for colour on a black-and-white print (clean photos are mostly colour).

The restore task calls :meth:`RealDomain.restore`, :meth:`RealDomain.d_step` and
:meth:`RealDomain.g_term` once per step. The component owns its discriminator and crop stream;
its optimiser (``real``) is registered with the run, so the trainer schedules, saves and
resumes it with the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from daguerre.infer.device import channels_last
from daguerre.losses import adversarial
from daguerre.nn.factory import build_discriminator
from daguerre.pipelines.convert import LUMA
from daguerre.train import loop
from daguerre.train.config import TrainConfig
from daguerre.train.run import Run


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """``(B,3,H,W)`` float in [0, 1] -> ``(B,1,H,W)`` Rec. 601 luma."""
    weights = torch.tensor(LUMA, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


class RealDomain:
    """Adversarial realism of restored real scans, judged against clean photos' luminance.

    Args:
        cfg: the run config; uses ``data.real`` (folders of real scans), ``data.crop``,
            ``data.batch``, ``loss.real_adversarial`` (the generator term's weight),
            ``loss.gan_mode``, ``optim.lr_d``, ``optim.beta1/beta2`` and ``optim.grad_clip``.
        run: the run: device, autocast and the optimiser registry.

    The crops start at the run's step on the first :meth:`restore` (or at :meth:`begin`), so
    they replay exactly as in an uninterrupted run.
    """

    def __init__(self, cfg: TrainConfig, run: Run) -> None:
        self.cfg, self.run, self.device = cfg, run, run.device
        self.discriminator = build_discriminator(
            "patchgan", {"in_channels": 1, "base_channels": 32, "layers": 3}
        ).to(self.device)
        o = cfg.optim
        run.adam("real", self.discriminator.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2),
                 clip=o.grad_clip, scaled=False)  # fmt: skip
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

    def restore(self, generator: nn.Module) -> torch.Tensor:
        """The generator's restoration of the next batch of real crops ``(B,3,S,S)``."""
        if self.stream is None:
            self.begin(self.run.step)
        assert self.stream is not None
        scans = channels_last(next(self.stream)["image"].to(self.device))
        inputs = scans
        if _input_channels(generator) == 4:  # a mask-input restorer sees "no mask"
            inputs = torch.cat([scans, torch.zeros_like(scans[:, :1])], dim=1)
        return generator(inputs)

    def d_step(self, clean: torch.Tensor, restored: torch.Tensor) -> float:
        """One discriminator step: clean photos are real, restored scans (detached) fake."""
        self.discriminator.requires_grad_(True)
        with self.run.autocast():
            both = torch.cat([luminance(clean), luminance(restored.detach())], dim=0)
            out = self.discriminator(both)
            real, fake = [[f.chunk(2)[0] for f in out]], [[f.chunk(2)[1] for f in out]]
            loss = adversarial.d_loss(real, fake, self.cfg.loss.gan_mode)
        self.run.backward("real", loss)
        self.discriminator.requires_grad_(False)
        return float(loss.detach())

    def g_term(self, restored: torch.Tensor) -> torch.Tensor:
        """The weighted generator loss: restored scans should pass for clean photos."""
        out = self.discriminator(luminance(restored))
        return self.cfg.loss.real_adversarial * adversarial.g_loss([out], self.cfg.loss.gan_mode)


def _input_channels(generator: nn.Module) -> int:
    """Input channels of a generator: those of its first convolution."""
    module = getattr(generator, "module", generator)  # DDP wraps the network
    first = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    return int(first.in_channels)
