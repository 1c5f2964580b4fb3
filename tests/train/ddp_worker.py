"""Run by ``torchrun`` in test_distributed: train a few steps, dump each rank's weights checksum."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from daguerre.train.trainer import RestoreTrainer
from tests.train.fakes import FakePairs, tiny_config


def main(out: Path) -> None:
    torch.set_num_threads(1)
    trainer = RestoreTrainer(tiny_config(steps=3), out / "run", device=torch.device("cpu"))
    trainer.fit(FakePairs(), None)
    flat = torch.cat([p.detach().flatten() for p in trainer.generator.parameters()])
    disc = torch.cat([p.detach().flatten() for p in trainer.discriminator.parameters()])
    rank = os.environ["RANK"]
    record = {
        "g": flat.double().sum().item(),
        "g_abs": flat.abs().double().sum().item(),
        "d": disc.double().sum().item(),
        "world": trainer.dist.world,
    }
    (out / f"rank{rank}.json").write_text(json.dumps(record))
    # both ranks reach this point before either tears gloo down: on a loaded machine a rank that
    # destroyed its group early once made the other abort ("terminate called ...") at exit
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
