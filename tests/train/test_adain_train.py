"""AdaIN decoder trainer: needs the MobileNetV2 ImageNet weights (they exist in this repo setup)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.config import load_config
from daguerre.errors import CheckpointNotFoundError, ConfigError
from daguerre.io.image import write_image
from daguerre.nn.adain import AdaINNet
from daguerre.train.adain import (
    AdaINDataConfig,
    AdaINLossConfig,
    AdaINNetConfig,
    AdaINOptimConfig,
    AdaINTask,
    AdaINTrainConfig,
    adain_losses,
    make_pairs,
)
from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.train.trainer import Trainer, train
from daguerre.weights.backbone import find_backbone
from daguerre.weights.checkpoint import load_model

CPU = torch.device("cpu")
REPO = Path(__file__).resolve().parents[2]


def adain_trainer(
    cfg: AdaINTrainConfig, run_dir: Path, *, device: torch.device, resume: bool = False
) -> Trainer[AdaINTask]:
    return Trainer(cfg, run_dir, AdaINTask, device=device, resume=resume)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP threads
    waiting for each other make each step ~100x slower; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


try:
    find_backbone()
    MISSING = ""
except CheckpointNotFoundError as err:  # pragma: no cover - the file exists in the repo setup
    MISSING = str(err)
needs_backbone = pytest.mark.skipif(
    bool(MISSING), reason=f"decoder training needs the MobileNetV2 weights: {MISSING}"
)


class FakePairs(torch.utils.data.Dataset):
    """Sample ``n``: a random content crop and a striped, colourful style crop."""

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(n)
        stripes = (torch.arange(32.0).view(1, 1, 32) % 8 < 4).float().expand(3, 32, 32)
        style = stripes * torch.rand(3, 1, 1, generator=gen)
        return {"content": torch.rand(3, 32, 32, generator=gen), "style": style}


def tiny_config(steps: int = 3) -> AdaINTrainConfig:
    return AdaINTrainConfig(
        model=AdaINNetConfig(kwargs={"stages": [3, 6], "base_channels": 4, "max_channels": 16}),
        loss=AdaINLossConfig(style_layers=(1, 3, 6)),
        data=AdaINDataConfig(batch=2, workers=0, crop=32),
        optim=AdaINOptimConfig(steps=steps),
        log_every=1,
        sample_every=2,
        checkpoint_minutes=0.0,
    )


def _samples() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(4)
    return {k: torch.rand(2, 3, 32, 32, generator=gen) for k in ("content", "style")}


@needs_backbone
def test_fit_trains_only_the_decoder_and_writes_a_model(tmp_path: Path) -> None:
    trainer = adain_trainer(tiny_config(), tmp_path, device=CPU)
    encoder = {k: v.clone() for k, v in trainer.task.net.encoder.state_dict().items()}
    decoder = [p.detach().clone() for p in trainer.task.net.decoder.parameters()]
    trainer.fit(FakePairs(), _samples())
    assert trainer.step == 3 and checkpoint_dirs(tmp_path)[-1].name == "step_0000003"
    assert all(torch.equal(v, trainer.task.net.encoder.state_dict()[k]) for k, v in encoder.items())
    moved = [
        not torch.equal(a, b)
        for a, b in zip(decoder, trainer.task.net.decoder.parameters(), strict=True)
    ]
    assert all(moved)
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    net, cfg = load_model(tmp_path / "adain")
    assert isinstance(net, AdaINNet) and cfg.kind == "adain" and cfg.pad_multiple == 8
    assert net(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)


@needs_backbone
def test_losses_are_finite_and_reach_only_the_decoder(tmp_path: Path) -> None:
    trainer = adain_trainer(tiny_config(), tmp_path, device=CPU)
    item = FakePairs()[0]
    batch = {k: v[None] for k, v in item.items()}
    terms = adain_losses(
        trainer.task.net,
        trainer.task.net.decoder,
        trainer.task.backbone,
        batch,
        trainer.task.cfg.loss,
    )
    assert set(terms) == {"content", "style"}
    assert all(torch.isfinite(v) and v > 0 for v in terms.values())
    terms["style"].backward()
    assert all(p.grad is not None for p in trainer.task.net.decoder.parameters())
    assert all(p.grad is None for p in trainer.task.net.encoder.parameters())


@needs_backbone
def test_resume_is_exact(tmp_path: Path) -> None:
    straight = adain_trainer(tiny_config(steps=4), tmp_path / "a", device=CPU)
    straight.fit(FakePairs())
    first = adain_trainer(tiny_config(steps=2), tmp_path / "b", device=CPU)
    first.fit(FakePairs())
    resumed = adain_trainer(tiny_config(steps=4), tmp_path / "b", device=CPU, resume=True)
    assert resumed.step == 2
    resumed.fit(FakePairs())
    for a, b in (
        (straight.task.net, resumed.task.net),
        (straight.task.ema.shadow, resumed.task.ema.shadow),
    ):
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.allclose(pa, pb, atol=1e-6)


@needs_backbone
def test_train_adain_and_cli_on_folders(tmp_path: Path) -> None:
    from daguerre.cli.app import app

    gen = torch.Generator().manual_seed(0)
    write_image(tmp_path / "photos" / "p.png", torch.rand(3, 48, 40, generator=gen))
    write_image(tmp_path / "paintings" / "s.png", torch.rand(3, 40, 64, generator=gen))
    data = AdaINDataConfig(
        content=(str(tmp_path / "photos"),), style=(str(tmp_path / "paintings"),), crop=32,
        batch=1, workers=0, sample_images=1, sample_crop=32,
    )  # fmt: skip
    cfg = dataclasses.replace(tiny_config(steps=1), data=data)
    assert make_pairs(cfg)[3]["style"].shape == (3, 32, 32)
    train(AdaINTask, cfg, tmp_path / "run", device="cpu")
    assert (tmp_path / "run" / "adain" / "model.safetensors").is_file()
    args = ["train", "adain", "--content", tmp_path / "photos", "--style", tmp_path / "paintings"]
    args += ["--out", tmp_path / "cli", "--device", "cpu"]
    for override in (
        "model.kwargs={stages: [3, 6], base_channels: 4}", "loss.style_layers=[1, 3]",
        "optim.steps=1", "data.crop=32", "data.workers=0", "data.sample_images=0",
    ):  # fmt: skip
        args += ["--set", override]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    with pytest.raises(ConfigError, match="data.content"):
        train(AdaINTask, tiny_config(), tmp_path / "x", device="cpu")


def test_shipped_config_loads_strictly_and_partial_overrides_keep_defaults() -> None:
    cfg = load_config(AdaINTrainConfig, REPO / "configs" / "train" / "adain.yaml")
    assert cfg.loss.content == 1.0 and cfg.loss.style == 10.0 and cfg.model.arch == "adain"
    partial = load_config(AdaINTrainConfig, None, ["optim.steps=5"])
    assert (
        partial.optim.lr_g == 1e-4 and partial.optim.beta1 == 0.9 and partial.model.arch == "adain"
    )
