import dataclasses
from pathlib import Path

import pytest
import torch

from daguerre.errors import CheckpointMismatchError
from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.train.config import NetConfig
from daguerre.train.validation import PairedValidator
from daguerre.weights.checkpoint import load_model
from tests.train.fakes import FakePairs, restore_trainer, tiny_config

CPU = torch.device("cpu")


def _validator() -> PairedValidator:
    clean = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    return PairedValidator(clean * 0.5, clean, batch=2, grid_images=2)


def test_fit_writes_checkpoints_samples_and_best(tmp_path: Path) -> None:
    trainer = restore_trainer(tiny_config(steps=4), tmp_path, device=CPU)
    trainer.fit(FakePairs(), _validator())
    assert trainer.step == 4
    assert checkpoint_dirs(tmp_path)[-1].name == "step_0000004"
    assert len(checkpoint_dirs(tmp_path)) <= 2
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    assert (tmp_path / "config.resolved.yaml").is_file()
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") >= 4
    net, cfg = load_model(tmp_path / "best")
    assert cfg.pad_multiple == 4 and net(torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_training_reduces_l1_on_a_learnable_task(tmp_path: Path) -> None:
    cfg = tiny_config(steps=60)
    trainer = restore_trainer(cfg, tmp_path, device=CPU)
    validator = _validator()
    before = validator.evaluate(trainer.task.generator, CPU, tmp_path / "s", 0)["psnr"]
    trainer.fit(FakePairs(), None)
    after = validator.evaluate(trainer.task.generator, CPU, tmp_path / "s", 1)["psnr"]
    assert after > before + 1.0


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = restore_trainer(tiny_config(steps=4), tmp_path / "a", device=CPU)
    straight.fit(FakePairs(), None)

    first = restore_trainer(tiny_config(steps=2), tmp_path / "b", device=CPU)
    first.fit(FakePairs(), None)
    resumed = restore_trainer(tiny_config(steps=4), tmp_path / "b", device=CPU, resume=True)
    assert resumed.step == 2
    resumed.fit(FakePairs(), None)
    for a, b in zip(
        straight.task.generator.parameters(), resumed.task.generator.parameters(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6)
    for a, b in zip(
        straight.task.ema.shadow.parameters(), resumed.task.ema.shadow.parameters(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6)


def test_init_copies_a_saved_generator_into_model_and_ema(tmp_path: Path) -> None:
    source = restore_trainer(tiny_config(steps=3), tmp_path / "src", device=CPU)
    source.fit(FakePairs(), _validator())  # writes src/best (a model folder)
    cfg = dataclasses.replace(tiny_config(steps=3), seed=5, init=str(tmp_path / "src" / "best"))
    tuned = restore_trainer(cfg, tmp_path / "ft", device=CPU)
    best, _ = load_model(tmp_path / "src" / "best")
    for a, b, c in zip(
        best.parameters(),
        tuned.task.generator.parameters(),
        tuned.task.ema.shadow.parameters(),
        strict=True,
    ):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_init_into_a_grown_network_names_its_new_layers(tmp_path: Path) -> None:
    source = restore_trainer(tiny_config(steps=2), tmp_path / "src", device=CPU)
    source.fit(FakePairs(), _validator())
    base = tiny_config(steps=2)
    grown = NetConfig("unet", {**base.generator.kwargs, "level_blocks": [1]})
    src = str(tmp_path / "src" / "best")
    with pytest.raises(CheckpointMismatchError, match="missing.*refine"):
        restore_trainer(
            dataclasses.replace(base, generator=grown, init=src), tmp_path / "a", device=CPU
        )
    cfg = dataclasses.replace(base, generator=grown, init=src, init_new_layers=("refine.",))
    tuned = restore_trainer(cfg, tmp_path / "ft", device=CPU)
    best, _ = load_model(tmp_path / "src" / "best")
    x = torch.rand(1, best.stem.conv.in_channels, 16, 16)
    assert torch.equal(tuned.task.ema.shadow.eval()(x), best(x))  # same function to start with


def test_init_with_a_different_architecture_names_the_mismatch(tmp_path: Path) -> None:
    source = restore_trainer(tiny_config(steps=2), tmp_path / "src", device=CPU)
    source.fit(FakePairs(), _validator())
    base = tiny_config(steps=2)
    wider = NetConfig("unet", {**base.generator.kwargs, "base_channels": 12})
    cfg = dataclasses.replace(base, generator=wider, init=str(tmp_path / "src" / "best"))
    with pytest.raises(CheckpointMismatchError, match="wrong shape"):
        restore_trainer(cfg, tmp_path / "ft", device=CPU)


@pytest.mark.parametrize("amx", [False, True])
def test_cpu_mixed_precision_is_bf16_only_with_amx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, amx: bool
) -> None:
    from daguerre.infer import device

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: amx)
    trainer = restore_trainer(tiny_config(steps=2), tmp_path, device=CPU)
    assert trainer.run.amp is amx
    assert not trainer.run.steppers["g"].scaler.is_enabled()  # bf16 needs no loss scaling
    off = restore_trainer(
        dataclasses.replace(tiny_config(steps=2), amp=False), tmp_path / "off", device=CPU
    )
    assert off.run.amp is False
    trainer.fit(FakePairs(), None)
    assert trainer.step == 2
    assert all(
        p.dtype == torch.float32 and bool(p.isfinite().all())
        for p in trainer.task.generator.parameters()
    )
