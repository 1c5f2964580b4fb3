"""Run logging: TensorBoard scalars/images on rank 0 plus a ``metrics.jsonl`` that needs nothing."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


class RunLogger:
    """Writes scalars to TensorBoard (if installed) and to ``run_dir/metrics.jsonl``.

    On ranks other than 0 every method is a no-op.
    """

    def __init__(self, run_dir: Path, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.writer: Any = None
        self.jsonl = run_dir / "metrics.jsonl"
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir / "tb"))
        except ImportError:
            log.warning("tensorboard is not installed; logging to metrics.jsonl only")

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        """Log named scalars at ``step``."""
        if not self.enabled:
            return
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}/{name}", value, step)
        record = {"step": step, "time": time.time(), "prefix": prefix, **values}
        with self.jsonl.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def image(self, step: int, name: str, grid: torch.Tensor) -> None:
        """Log a ``(3,H,W)`` [0,1] image."""
        if self.enabled and self.writer is not None:
            self.writer.add_image(name, grid.clamp(0, 1), step)

    def close(self) -> None:
        """Flush and close."""
        if self.writer is not None:
            self.writer.close()
