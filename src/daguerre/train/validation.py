"""Validation on fixed data: PSNR/SSIM of a generator on synthetic pairs, sample grids."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from daguerre.metrics.fidelity import psnr, ssim

if TYPE_CHECKING:
    from daguerre.train.run import Run


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
        self.batch, self.grid_images = batch, grid_images
        self.inputs = torch.cat([degraded, degraded.new_zeros(len(degraded), extra_channels,
                                                              *degraded.shape[2:])], 1)  # fmt: skip
        self.input_psnr = float(psnr(degraded, clean).mean())

    def evaluate(
        self, generator: nn.Module, device: torch.device, sample_dir: Path, step: int
    ) -> dict[str, float]:
        """Return ``{"psnr", "ssim", "input_psnr"}`` and write ``sample_dir/step_XXXXXXX.png``."""
        restored = predict(generator, self.inputs, device, self.batch).clamp(0, 1)
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


@torch.no_grad()
def predict(net: nn.Module, inputs: torch.Tensor, device: torch.device, batch: int) -> torch.Tensor:
    """``net(inputs)`` in eval mode, ``batch`` at a time, as float32 on the CPU.

    Args:
        net: any network; its train/eval mode is restored afterwards.
        inputs: ``(N,C,H,W)`` on the CPU.
        device: where ``net`` lives.
        batch: forward batch size.

    Example:
        >>> predict(nn.Identity(), torch.ones(3, 1, 2, 2), torch.device("cpu"), 2).shape
        torch.Size([3, 1, 2, 2])
    """
    was_training = net.training
    net.eval()
    outs = [
        net(inputs[i : i + batch].to(device)).float().cpu() for i in range(0, len(inputs), batch)
    ]
    net.train(was_training)
    return torch.cat(outs)


def write_grid(run: Run, grid: torch.Tensor) -> None:
    """Write a ``(3,H,W)`` [0,1] sample grid as ``RUN/samples/step_XXXXXXX.png`` and log it."""
    from daguerre.io.image import write_image

    path = run.run_dir / "samples" / f"step_{run.step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, grid)
    run.logger.image(run.step, "samples", grid)
