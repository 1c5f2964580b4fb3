"""``torchrun`` support: init from the environment, rank-0 guards, gradient-free helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Rank, world size and device of this process."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes files."""
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Initialise the process group when launched by torchrun (``WORLD_SIZE`` > 1).

    Uses NCCL on CUDA and gloo on CPU. Returns a single-process ``DistInfo`` otherwise.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world=world, local_rank=local_rank, device=device)


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op when single-process)."""
    if info.world > 1:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    """Destroy the process group if we created one."""
    if info.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
