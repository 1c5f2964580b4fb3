"""Validation on fixed synthetic pairs: PSNR/SSIM of the EMA generator plus a sample grid."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from daguerre.metrics.fidelity import psnr, ssim


class PairedValidator:
    """Holds fixed (degraded, clean) pairs ``(N,3,S,S)`` and scores a generator on them.

    Args:
        degraded: ``(N,3,H,W)`` float32 [0,1] inputs.
        clean: ``(N,3,H,W)`` float32 [0,1] targets.
        batch: forward batch size.
        grid_images: how many pairs go into the saved sample grid.
        extra_channels: zero channels appended to the input (an empty defect mask for a
            generator with a mask input).
    """

    def __init__(
        self,
        degraded: torch.Tensor,
        clean: torch.Tensor,
        *,
        batch: int = 4,
        grid_images: int = 4,
        extra_channels: int = 0,
    ) -> None:
        self.degraded, self.clean = degraded, clean
        self.batch, self.grid_images, self.extra_channels = batch, grid_images, extra_channels
        self.input_psnr = float(psnr(degraded, clean).mean())

    @torch.no_grad()
    def evaluate(
        self, generator: nn.Module, device: torch.device, sample_dir: Path, step: int
    ) -> dict[str, float]:
        """Return ``{"psnr", "ssim", "input_psnr"}`` and write ``sample_dir/step_XXXXXXX.png``."""
        was_training = generator.training
        generator.eval()
        outs = []
        for i in range(0, len(self.degraded), self.batch):
            x = self.degraded[i : i + self.batch]
            if self.extra_channels:
                x = torch.cat([x, x.new_zeros(x.shape[0], self.extra_channels, *x.shape[2:])], 1)
            outs.append(generator(x.to(device)).float().cpu().clamp(0, 1))
        generator.train(was_training)
        restored = torch.cat(outs)
        metrics = {
            "psnr": float(psnr(restored, self.clean).mean()),
            "ssim": float(ssim(restored, self.clean).mean()),
            "input_psnr": self.input_psnr,
        }
        self._write_grid(restored, sample_dir / f"step_{step:07d}.png")
        return metrics

    def _write_grid(self, restored: torch.Tensor, path: Path) -> None:
        from daguerre.io.image import write_image

        k = min(self.grid_images, len(restored))
        rows = [torch.cat([self.degraded[i], restored[i], self.clean[i]], dim=2) for i in range(k)]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, torch.cat(rows, dim=1))
