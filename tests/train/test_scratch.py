import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.errors import CheckpointMismatchError, ConfigError
from daguerre.io.image import write_image
from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.train.scratch import (
    DetectorNetConfig,
    MaskValidator,
    ScratchDataConfig,
    ScratchLossConfig,
    ScratchOptimConfig,
    ScratchTask,
    ScratchTrainConfig,
    mask_scores,
    segmentation_losses,
    training_target,
)
from daguerre.train.trainer import Trainer
from daguerre.weights.checkpoint import load_model

CPU = torch.device("cpu")
KW = {"base_channels": 4, "depth": 2, "max_channels": 16}


def scratch_trainer(
    cfg: ScratchTrainConfig, run_dir: Path, *, device: torch.device, resume: bool = False
) -> Trainer[ScratchTask]:
    return Trainer(cfg, run_dir, ScratchTask, device=device, resume=resume)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads, and lose a lot on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class FakeDefects(torch.utils.data.Dataset):
    """Sample ``n``: a smooth random image with one bright horizontal line; mask = the line."""

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(n)
        image = torch.rand(3, 4, 4, generator=gen) * 0.6
        image = torch.nn.functional.interpolate(image[None], size=(32, 32), mode="bilinear")[0]
        mask = torch.zeros(1, 32, 32)
        row = int(torch.randint(2, 30, (), generator=gen))
        mask[:, row : row + 2] = 1.0
        return {"degraded": torch.where(mask > 0, 1.0, image), "mask": mask * 0.9}


def tiny_config(steps: int = 4, **kwargs: object) -> ScratchTrainConfig:
    return ScratchTrainConfig(
        model=DetectorNetConfig(kwargs=KW),
        data=ScratchDataConfig(batch=2, workers=0),
        optim=ScratchOptimConfig(steps=steps, lr=3e-3),
        log_every=1,
        val_every=2,
        checkpoint_minutes=0.0,
        **kwargs,  # type: ignore[arg-type]
    )


def _validator() -> MaskValidator:
    items = [FakeDefects()[10**6 + i] for i in range(4)]
    degraded = torch.stack([item["degraded"] for item in items])
    return MaskValidator(degraded, torch.stack([(item["mask"] > 0.25).float() for item in items]))


def test_mask_scores_count_pixels() -> None:
    prob = torch.tensor([0.9, 0.8, 0.1, 0.6, 0.2])
    target = torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0])
    scores = mask_scores(prob, target)  # tp 2, fp 1, fn 1
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["iou"] == pytest.approx(0.5)
    assert mask_scores(torch.zeros(5), torch.zeros(5))["f1"] == 0.0


def test_soft_targets_flip_at_the_label_threshold_and_steepen_with_width() -> None:
    alpha = torch.linspace(0.0, 1.0, 101)
    hard = training_target(alpha, ScratchLossConfig())
    for width in (0.5, 0.2, 0.05):
        soft = training_target(alpha, ScratchLossConfig(soft_target=True, soft_width=width))
        assert torch.equal(soft > 0.5, hard > 0.5)  # same decision as the hard label
        assert soft.min() == 0.0 and soft.max() == 1.0
        assert bool((soft.diff() >= 0).all())  # monotone in alpha
        ramp = (soft > 0) & (soft < 1)
        assert float(ramp.float().sum()) / 100 == pytest.approx(width, abs=0.021)
    with pytest.raises(ConfigError, match="soft_width"):
        ScratchLossConfig(soft_target=True, soft_width=0.0)


def test_losses_prefer_the_right_answer() -> None:
    target = torch.zeros(2, 1, 8, 8)
    target[:, :, 3] = 1.0
    good = segmentation_losses((target * 2 - 1) * 8, target, ScratchLossConfig())
    bad = segmentation_losses((1 - 2 * target) * 8, target, ScratchLossConfig())
    assert good["bce"] < 0.01 and good["dice"] < 0.01
    assert bad["bce"] > 1.0 and bad["dice"] > 0.9
    off = segmentation_losses(torch.zeros(2, 1, 8, 8), target, ScratchLossConfig(dice=0.0))
    assert off["dice"] == 0.0


def test_fit_writes_checkpoints_samples_and_best(tmp_path: Path) -> None:
    trainer = scratch_trainer(tiny_config(steps=4), tmp_path, device=CPU)
    trainer.fit(FakeDefects(), _validator())
    assert trainer.step == 4
    assert checkpoint_dirs(tmp_path)[-1].name == "step_0000004"
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    assert (tmp_path / "config.resolved.yaml").is_file()
    assert '"prefix": "val"' in (tmp_path / "metrics.jsonl").read_text()
    net, cfg = load_model(tmp_path / "best")
    assert cfg.kind == "scratch" and cfg.pad_multiple == 4 and cfg.extra["threshold"] == 0.5
    assert net(torch.rand(1, 3, 32, 32)).shape == (1, 1, 32, 32)


def test_train_step_feeds_the_network_channels_last(tmp_path: Path) -> None:
    trainer = scratch_trainer(tiny_config(steps=1), tmp_path, device=CPU)
    layouts: list[bool] = []
    hook = trainer.task.net.register_forward_pre_hook(
        lambda _module, args: layouts.append(
            args[0].is_contiguous(memory_format=torch.channels_last)
        )
    )
    items = [FakeDefects()[i] for i in range(2)]
    batch = {k: torch.stack([item[k] for item in items]) for k in ("degraded", "mask")}
    trainer.train_step(batch)
    hook.remove()
    assert layouts == [True]


def test_training_raises_f1_on_a_learnable_task(tmp_path: Path) -> None:
    trainer = scratch_trainer(tiny_config(steps=30), tmp_path, device=CPU)
    validator = _validator()
    before = validator.evaluate(trainer.task.net, CPU, tmp_path / "s", 0)["f1"]
    trainer.fit(FakeDefects(), None)
    after = validator.evaluate(trainer.task.ema.shadow, CPU, tmp_path / "s", 1)["f1"]
    assert after > max(before, 0.0) + 0.3


def test_init_starts_model_and_ema_from_a_saved_detector(tmp_path: Path) -> None:
    source = scratch_trainer(tiny_config(steps=4), tmp_path / "src", device=CPU)
    source.fit(FakeDefects(), _validator())  # writes src/best
    tuned = scratch_trainer(
        tiny_config(steps=2, seed=7, init=str(tmp_path / "src" / "best")),
        tmp_path / "ft",
        device=CPU,
    )
    best, _ = load_model(tmp_path / "src" / "best")
    nets = (best, tuned.task.net, tuned.task.ema.shadow)
    for a, b, c in zip(*(n.parameters() for n in nets), strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    wider = DetectorNetConfig(kwargs={**KW, "base_channels": 6})
    cfg = dataclasses.replace(tiny_config(init=str(tmp_path / "src" / "best")), model=wider)
    with pytest.raises(CheckpointMismatchError, match="wrong shape"):
        scratch_trainer(cfg, tmp_path / "wide", device=CPU)


def test_init_new_layers_deepens_a_saved_detector(tmp_path: Path) -> None:
    source = scratch_trainer(tiny_config(steps=4), tmp_path / "src", device=CPU)
    source.fit(FakeDefects(), _validator())
    deeper = DetectorNetConfig(kwargs={**KW, "level_blocks": 2})
    cfg = dataclasses.replace(tiny_config(init=str(tmp_path / "src" / "best")), model=deeper)
    with pytest.raises(CheckpointMismatchError, match="level"):
        scratch_trainer(cfg, tmp_path / "strict", device=CPU)  # new layers must be named
    cfg = dataclasses.replace(cfg, init_new_layers=("level.",))
    tuned = scratch_trainer(cfg, tmp_path / "deep", device=CPU)
    best, _ = load_model(tmp_path / "src" / "best")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(tuned.task.ema.shadow.eval()(x), best(x), atol=1e-6)


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = scratch_trainer(tiny_config(steps=4), tmp_path / "a", device=CPU)
    straight.fit(FakeDefects(), None)
    first = scratch_trainer(tiny_config(steps=2), tmp_path / "b", device=CPU)
    first.fit(FakeDefects(), None)
    resumed = scratch_trainer(tiny_config(steps=4), tmp_path / "b", device=CPU, resume=True)
    assert resumed.step == 2
    resumed.fit(FakeDefects(), None)
    for net_a, net_b in (
        (straight.task.net, resumed.task.net),
        (straight.task.ema.shadow, resumed.task.ema.shadow),
    ):
        for a, b in zip(net_a.parameters(), net_b.parameters(), strict=True):
            assert torch.allclose(a, b, atol=1e-6)


def _photos(folder: Path, count: int = 2) -> Path:
    gen = torch.Generator().manual_seed(0)
    for i in range(count):
        write_image(folder / f"p{i}.png", torch.rand(3, 40, 48, generator=gen))
    return folder


def test_validator_from_folder_is_fixed(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "val")
    data = ScratchDataConfig(val=(str(folder),), preset="scratches-only", val_images=3, val_crop=32)
    first = ScratchTask.validation_data(ScratchTrainConfig(data=data), tmp_path)
    second = ScratchTask.validation_data(ScratchTrainConfig(data=data), tmp_path)
    assert first is not None and second is not None
    assert first.degraded.shape == (3, 3, 32, 32) and first.target.shape == (3, 1, 32, 32)
    assert torch.equal(first.degraded, second.degraded) and first.target.sum() > 0
    assert ScratchTask.validation_data(ScratchTrainConfig(), tmp_path) is None


def test_cli_train_scratch_runs_and_resumes(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    settings = ["data.preset=scratches-only", "data.crop=32", "data.batch=2", "data.workers=0"]
    settings += ["model.kwargs={base_channels: 4, depth: 2, max_channels: 8}", "val_every=2"]
    settings += ["data.val_images=2", "data.val_crop=32", "checkpoint_minutes=0"]
    args = ["train", "scratch", "--data", str(photos), "--val", str(photos)]
    args += ["--out", str(tmp_path / "run"), "--device", "cpu"]
    for item in [*settings, "optim.steps=2"]:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "best" / "config.json").is_file()
    result = CliRunner().invoke(app, [*args, "--set", "optim.steps=3", "--resume"])
    assert result.exit_code == 0, result.output
    assert checkpoint_dirs(tmp_path / "run")[-1].name == "step_0000003"
