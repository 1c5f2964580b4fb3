"""The one loop itself (daguerre.train.trainer), on a toy task: a linear map learnt by Adam."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

from daguerre.config import load_config
from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.train.config import RunConfig
from daguerre.train.run import Batch, Run
from daguerre.train.schedule import linear_decay
from daguerre.train.tblog import MissingExtraError
from daguerre.train.trainer import RESOLVED_CONFIG, Schedule, Task, Trainer, Validation
from daguerre.weights.checkpoint import ModelConfig, read_config

CPU = torch.device("cpu")


@dataclasses.dataclass(frozen=True)
class ToyConfig(RunConfig):
    steps: int = 6
    val_every: int = 2
    scores: tuple[float, ...] = ()  # scripted validation scores, one per validation


class ToyData(torch.utils.data.Dataset):
    """Sample ``n``: a random ``x`` (4,) and ``y = x . w`` for a fixed ``w``; fixed by ``n``."""

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        x = torch.randn(4, generator=torch.Generator().manual_seed(n))
        return {"x": x, "y": (x * torch.tensor([1.0, -2.0, 0.5, 3.0])).sum(0, keepdim=True)}


class ToyTask(Task[None]):
    """``nn.Linear(4, 1)``, Adam, EMA; validation replays ``cfg.scores``; counts its samples."""

    def __init__(self, cfg: ToyConfig, run: Run) -> None:
        self.cfg, self.run = cfg, run
        self.schedule = Schedule(cfg.steps, batch=2, decay_start=0.5, val_every=cfg.val_every)
        self.net = nn.Linear(4, 1)
        self.ema = run.ema("ema", self.net)
        self.nets, self.model = {"model": self.net}, self.ema.shadow
        run.adam("", self.net.parameters(), lr=0.05, betas=(0.9, 0.99), clip=1.0)
        self.seen, self.lrs, self.validations = 0, [], 0  # seen travels in the trainer state

    def model_config(self) -> ModelConfig:
        return ModelConfig(arch="toy", kwargs={}, kind="toy")

    def train_step(self, batch: Batch) -> dict[str, float]:
        self.lrs.append(self.run.steppers[""].optimizer.param_groups[0]["lr"])
        loss = F.mse_loss(self.net(batch["x"]), batch["y"])
        self.seen += len(batch["x"])
        return {"loss": float(loss.detach()), "grad": self.run.backward("", loss)}

    def validate(self, val: None) -> Validation:
        score = self.cfg.scores[self.validations]
        self.validations += 1
        return Validation({"score": score}, (score,))

    def state_dict(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seen = int(state["seen"])


def _toy(
    run_dir: Path, resume: bool = False, wandb: bool = False, **changes: Any
) -> Trainer[ToyTask]:
    cfg = dataclasses.replace(ToyConfig(log_every=1, checkpoint_minutes=60.0), **changes)
    return Trainer(cfg, run_dir, ToyTask, device=CPU, resume=resume, wandb=wandb)


def _flat(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


class Interrupted(ToyData):
    """Stops the run (an exception, as a killed job would) when step ``stop`` needs its data."""

    def __init__(self, stop: int) -> None:
        self.first_missing = 2 * stop  # batch 2

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        if n >= self.first_missing:
            raise KeyboardInterrupt
        return super().__getitem__(n)


def test_resume_is_exact_for_weights_ema_and_optimiser(tmp_path: Path) -> None:
    straight = _toy(tmp_path / "a", steps=6)
    straight.fit(ToyData())
    killed = _toy(tmp_path / "b", steps=6, checkpoint_minutes=0.0)  # a checkpoint every step
    with pytest.raises(KeyboardInterrupt):
        killed.fit(Interrupted(stop=3))
    assert checkpoint_dirs(tmp_path / "b")[-1].name == "step_0000003"
    resumed = _toy(tmp_path / "b", resume=True, steps=6)
    assert resumed.step == 3 and resumed.task.seen == 6
    resumed.fit(ToyData())
    assert resumed.task.seen == straight.task.seen == 12
    assert torch.equal(_flat(straight.task.net), _flat(resumed.task.net))
    assert torch.equal(_flat(straight.task.ema.shadow), _flat(resumed.task.ema.shadow))
    adam_a = straight.run.steppers[""].optimizer.state_dict()["state"]
    adam_b = resumed.run.steppers[""].optimizer.state_dict()["state"]
    assert all(torch.equal(adam_a[0][k], adam_b[0][k]) for k in ("exp_avg", "exp_avg_sq"))
    assert straight.task.lrs[3:] == resumed.task.lrs  # the schedule picks up where it stopped


def test_a_fresh_run_does_not_resume_and_the_seed_fixes_the_init(tmp_path: Path) -> None:
    first = _toy(tmp_path / "a")
    again = _toy(tmp_path / "b")
    other = _toy(tmp_path / "c", seed=1)
    assert torch.equal(_flat(first.task.net), _flat(again.task.net))
    assert not torch.equal(_flat(first.task.net), _flat(other.task.net))
    assert _toy(tmp_path / "d", resume=True).step == 0  # nothing to resume from


def test_checkpoints_are_pruned_to_the_newest(tmp_path: Path) -> None:
    trainer = _toy(tmp_path, steps=5, checkpoint_minutes=0.0, keep_checkpoints=2)
    trainer.fit(ToyData())
    assert [p.name for p in checkpoint_dirs(tmp_path)] == ["step_0000004", "step_0000005"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step_0000004",
        "step_0000005",
    ]  # no half-written temporary left
    newest = checkpoint_dirs(tmp_path)[-1]
    assert {p.name for p in newest.iterdir()} == {
        "model.safetensors",
        "ema.safetensors",
        "config.json",
        "trainer_state.pt",
    }
    state = torch.load(newest / "trainer_state.pt", weights_only=True)
    assert state["step"] == 5 and state["seen"] == 10 and {"opt", "scaler"} <= set(state)


def test_learning_rate_decays_linearly_after_decay_start(tmp_path: Path) -> None:
    trainer = _toy(tmp_path, steps=6)
    trainer.fit(ToyData())
    expected = [0.05 * linear_decay(step, 6, 0.5) for step in range(6)]
    assert trainer.task.lrs == pytest.approx(expected)


def test_validation_schedule_logs_and_keeps_the_best(tmp_path: Path) -> None:
    trainer = _toy(tmp_path, steps=5, val_every=2, scores=(0.3, 0.1, 0.5))
    trainer.fit(ToyData(), val=None)
    assert trainer.task.validations == 0  # no validation data: no validation
    trainer = _toy(tmp_path / "v", steps=5, val_every=2, scores=(0.3, 0.1, 0.5))
    trainer.fit(ToyData(), val="fixed data")
    records = [
        json.loads(line) for line in (tmp_path / "v" / "metrics.jsonl").read_text().splitlines()
    ]
    val = [(r["step"], r["score"]) for r in records if r["prefix"] == "val"]
    assert val == [(2, 0.3), (4, 0.1), (5, 0.5)]  # every val_every steps and after the last
    assert [r["step"] for r in records if r["prefix"] == "train"] == [1, 2, 3, 4, 5]
    assert (tmp_path / "v" / "best" / "metrics.txt").read_text().startswith("step 5\n")
    assert read_config(tmp_path / "v" / "best").kind == "toy"
    assert trainer.best == (0.5,)
    resumed = _toy(tmp_path / "v", resume=True, steps=5)
    assert resumed.best == (0.5,)  # the best score travels with the checkpoint


def test_every_kind_writes_the_same_resolved_config(tmp_path: Path) -> None:
    trainer = _toy(tmp_path, steps=1)
    trainer.fit(ToyData())
    assert load_config(ToyConfig, tmp_path / RESOLVED_CONFIG) == trainer.cfg
    assert not (tmp_path / "config.yaml").exists()


def test_a_best_score_saved_before_the_one_loop_still_counts() -> None:
    from daguerre.train.trainer import _saved_best

    assert _saved_best({"best_score": [1.0, -2.0]}) == (1.0, -2.0)
    assert _saved_best({"best_score": None}) is None
    assert _saved_best({"best_psnr": 25.5}) == (25.5,)  # restore runs
    assert _saved_best({"best_psnr": float("-inf")}) is None  # restore: nothing validated yet
    assert _saved_best({"best_f1": 0.4}) == (0.4,)  # scratch runs
    assert _saved_best({"best_f1": -1.0}) is None


def test_run_options_live_in_one_base() -> None:
    from daguerre.train.kinds import KINDS

    shared = {f.name for f in dataclasses.fields(RunConfig)}
    assert {"seed", "threads", "amp", "ema_decay", "log_every", "checkpoint_minutes"} <= shared
    for task in KINDS.values():
        assert issubclass(task.config, RunConfig) and issubclass(task, Task)


# --- Weights & Biases ---------------------------------------------------------------------------


def test_wandb_without_the_package_is_one_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daguerre.cli.app import app

    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    with pytest.raises(MissingExtraError, match=r"pip install"):
        _toy(tmp_path, wandb=True)
    args = ["train", "restore", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--wandb"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, MissingExtraError)
    assert not (tmp_path / "r").exists()  # refused before anything was built


@pytest.mark.skipif(
    importlib.util.find_spec("wandb") is None, reason="wandb is not installed (the wandb extra)"
)
def test_wandb_offline_gets_the_tensorboard_scalars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    trainer = Trainer(
        ToyConfig(log_every=1, steps=2, val_every=2, scores=(0.7,)), tmp_path / "run", ToyTask,
        device=CPU, wandb=True,
    )  # fmt: skip
    trainer.fit(ToyData(), val="fixed data")
    records = list((tmp_path / "wandb-dir").glob("wandb/offline-run-*/run-*.wandb"))
    assert len(records) == 1
    names = (b"train/loss", b"train/grad", b"val/score")
    deadline = time.monotonic() + 30.0  # wandb-core may still be flushing the file
    while not all(name in records[0].read_bytes() for name in names):
        assert time.monotonic() < deadline, f"{names} not in {records[0]}"
        time.sleep(0.1)
