"""Training tasks: a batch in, named losses out. The trainer owns optimisers and the loop.

:class:`Pix2PixTask` is the conditional GAN of pix2pix / pix2pixHD
(https://arxiv.org/abs/1611.07004, https://arxiv.org/abs/1711.11585): the discriminator sees
(condition, image) pairs at several scales; the generator is trained with adversarial,
L1, feature-matching and perceptual terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from daguerre.losses import adversarial, pixel
from daguerre.losses.perceptual import perceptual_loss
from daguerre.train.config import LossConfig

Batch = dict[str, torch.Tensor]
Losses = dict[str, torch.Tensor]


class Pix2PixTask:
    """Paired restoration: ``batch["degraded"] -> batch["clean"]``.

    Args:
        generator: the (possibly DDP-wrapped) generator.
        discriminator: the (possibly DDP-wrapped) multi-scale discriminator over 6 channels.
        losses: loss weights.
        features: optional frozen feature extractor for the perceptual term.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        losses: LossConfig,
        features: Callable[[torch.Tensor], Sequence[torch.Tensor]] | None = None,
    ) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.cfg = losses
        self.features = features

    def generate(self, batch: Batch) -> torch.Tensor:
        """Generator forward: ``(B,3,H,W)`` restored image.

        With a ``mask_in`` entry (``(B,1,H,W)``, 1 = damaged) the generator gets it as a 4th
        input channel and learns to inpaint the marked pixels.
        """
        if "mask_in" in batch:
            return self.generator(torch.cat([batch["degraded"], batch["mask_in"]], dim=1))
        return self.generator(batch["degraded"])

    def d_losses(self, batch: Batch, fake: torch.Tensor) -> Losses:
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
        return {"d": adversarial.d_loss(real_out, fake_out, self.cfg.gan_mode)}

    def g_losses(self, batch: Batch, fake: torch.Tensor, *, adversarial_on: bool) -> Losses:
        """Named generator terms, already weighted; their sum is the G objective."""
        cfg, clean = self.cfg, batch["clean"]
        out: Losses = {"l1": cfg.l1 * pixel.l1(fake, clean)}
        if cfg.masked_l1 > 0 and "mask_in" in batch:
            out["l1_mask"] = cfg.masked_l1 * pixel.l1(fake, clean, batch["mask_in"])
        if adversarial_on and cfg.adversarial > 0:
            disc = _unwrap(self.discriminator)  # no DDP sync for D's grads in the G step
            cond = batch["degraded"]
            fake_out = disc(torch.cat([cond, fake], dim=1))
            out["adv"] = cfg.adversarial * adversarial.g_loss(fake_out, cfg.gan_mode)
            if cfg.feature_matching > 0:
                with torch.no_grad():
                    real_out = disc(torch.cat([cond, clean], dim=1))
                out["fm"] = cfg.feature_matching * adversarial.feature_matching(real_out, fake_out)
        if self.features is not None and cfg.perceptual > 0:
            out["perc"] = cfg.perceptual * perceptual_loss(fake, clean, self.features)
        if cfg.ssim > 0:
            out["ssim"] = cfg.ssim * pixel.ssim_loss(fake, clean)
        if cfg.frequency > 0:
            out["freq"] = cfg.frequency * pixel.frequency_l1(fake, clean)
        return out


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module
