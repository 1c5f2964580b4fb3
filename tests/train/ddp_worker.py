"""Run by ``torchrun`` in test_distributed: train a few steps, dump each rank's weights checksum."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from daguerre.train.restore import RestoreTask
from daguerre.train.trainer import Trainer
from tests.train.fakes import FakePairs, tiny_config


def main(out: Path) -> None:
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    trainer = Trainer(tiny_config(steps=3), out / "run", RestoreTask, device=cpu)
    trainer.fit(FakePairs(), None)
    task = trainer.task
    flat = torch.cat([p.detach().flatten() for p in task.generator.parameters()])
    disc = torch.cat([p.detach().flatten() for p in task.discriminator.parameters()])
    rank = os.environ["RANK"]
    record = {
        "g": flat.double().sum().item(),
        "g_abs": flat.abs().double().sum().item(),
        "d": disc.double().sum().item(),
        "world": trainer.run.dist.world,
    }
    (out / f"rank{rank}.json").write_text(json.dumps(record))
    # both ranks reach this point before either tears gloo down: on a loaded machine a rank that
    # destroyed its group early once made the other abort ("terminate called ...") at exit
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
