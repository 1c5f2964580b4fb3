"""CycleGAN trainer: a few steps on tiny nets, checkpoints and samples, exact resume, DDP."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.config import load_config
from daguerre.errors import CheckpointNotFoundError, ConfigError
from daguerre.io.image import write_image
from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.train.cyclegan import CycleGANTask, make_domains
from daguerre.train.cyclegan_task import (
    CycleDataConfig,
    CycleGANConfig,
    CycleLossConfig,
    StyleDiscConfig,
    StyleNetConfig,
    StyleOptimConfig,
)
from daguerre.train.trainer import Trainer, train
from daguerre.weights.checkpoint import load_model

CPU = torch.device("cpu")
REPO = Path(__file__).resolve().parents[2]


def cyclegan_trainer(
    cfg: CycleGANConfig, run_dir: Path, *, device: torch.device, resume: bool = False
) -> Trainer[CycleGANTask]:
    return Trainer(cfg, run_dir, CycleGANTask, device=device, resume=resume)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP threads
    waiting for each other make each step ~100x slower; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class FakeDomains(torch.utils.data.Dataset):
    """Sample ``n``: a random A crop and a warmer, darker B crop, fixed by ``n``."""

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(n)
        a, b = torch.rand(3, 32, 32, generator=gen), torch.rand(3, 32, 32, generator=gen)
        return {"a": a, "b": b * torch.tensor([0.9, 0.6, 0.3]).view(3, 1, 1)}


def tiny_config(steps: int = 4, **loss: float) -> CycleGANConfig:
    return CycleGANConfig(
        generator=StyleNetConfig("resnet", {"base_channels": 4, "blocks": 1, "max_channels": 16}),
        discriminator=StyleDiscConfig(
            "multiscale", {"in_channels": 3, "base_channels": 4, "layers": 2, "num_scales": 2}
        ),
        loss=CycleLossConfig(**loss),
        data=CycleDataConfig(batch=2, workers=0, crop=32),
        optim=StyleOptimConfig(steps=steps),
        pool_size=3,
        log_every=1,
        sample_every=2,
        checkpoint_minutes=0.0,
    )


def _samples() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(9)
    return {
        "a": torch.rand(2, 3, 32, 32, generator=gen),
        "b": torch.rand(2, 3, 32, 32, generator=gen),
    }


def test_fit_writes_checkpoints_samples_and_a_style_folder(tmp_path: Path) -> None:
    trainer = cyclegan_trainer(tiny_config(steps=3), tmp_path, device=CPU)
    trainer.fit(FakeDomains(), _samples())
    assert trainer.step == 3
    assert checkpoint_dirs(tmp_path)[-1].name == "step_0000003"
    assert len(checkpoint_dirs(tmp_path)) <= 2
    for name in ("model", "ema", "model_ba", "ema_ba", "disc_a", "disc_b"):
        assert (checkpoint_dirs(tmp_path)[-1] / f"{name}.safetensors").is_file()
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    assert (tmp_path / "samples" / "step_0000003.png").is_file()
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {"d_a", "d_b", "adv", "cyc_a", "cyc_b", "idt", "g"} <= set(logged[-1])
    net, cfg = load_model(tmp_path / "style")
    assert cfg.kind == "style" and cfg.pad_multiple == 4 and cfg.extra["mode"] == "cyclegan"
    assert net(torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    reverse, rcfg = load_model(tmp_path / "reverse")  # B->A EMA: an unpaired restorer
    assert rcfg.kind == "restore" and rcfg.extra["mode"] == "cyclegan-reverse"
    for a, b in zip(reverse.parameters(), trainer.task.ema_ba.shadow.parameters(), strict=True):
        assert torch.equal(a, b)
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor

    out = restore_tensor(torch.rand(3, 20, 28), RestoreOptions(model=str(tmp_path / "reverse")))
    assert out.shape == (3, 20, 28)


def test_checkpoint_promotes_to_an_installed_style(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daguerre.pipelines.stylize import StylizeOptions, installed_styles, stylize_tensor
    from daguerre.weights.promote import promote

    trainer = cyclegan_trainer(tiny_config(steps=1), tmp_path / "run", device=CPU)
    trainer.fit(FakeDomains())
    promote(checkpoint_dirs(tmp_path / "run")[-1], "styles/warm", root=tmp_path / "weights")
    monkeypatch.setattr("daguerre.weights.package_dir", lambda: tmp_path / "weights")
    assert [s.name for s in installed_styles()] == ["warm"]
    img = torch.rand(3, 24, 20)
    expected = trainer.task.ema_ab.shadow(img[None])[0]
    out = stylize_tensor(img, StylizeOptions(style="warm", tile=0))
    assert torch.allclose(out, expected, atol=2e-3)  # fp16 weights


def test_each_ddp_module_runs_one_forward_per_step(tmp_path: Path) -> None:
    trainer = cyclegan_trainer(tiny_config(feature_matching=1.0), tmp_path, device=CPU)
    calls = {"gens": 0, "discs": 0}
    trainer.task.gens.register_forward_hook(lambda *_: calls.__setitem__("gens", calls["gens"] + 1))
    trainer.task.discs.register_forward_hook(
        lambda *_: calls.__setitem__("discs", calls["discs"] + 1)
    )
    logs = trainer.train_step({k: v[None] for k, v in FakeDomains()[0].items()})
    assert calls == {"gens": 1, "discs": 1}
    assert "fm" in logs and all(torch.isfinite(torch.tensor(v)) for v in logs.values())


def test_coarse_to_fine_generator_trains(tmp_path: Path) -> None:
    kwargs = {"base_channels": 4, "global_blocks": 1, "local_blocks": 1}
    cfg = dataclasses.replace(tiny_config(), generator=StyleNetConfig("multiscale_resnet", kwargs))
    trainer = cyclegan_trainer(cfg, tmp_path, device=CPU)
    head = trainer.task.gens.g_ab.local_head.weight.detach().clone()
    logs = trainer.train_step({k: v[None] for k, v in FakeDomains()[2].items()})
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    assert not torch.equal(head, trainer.task.gens.g_ab.local_head.weight)  # the fine branch learns
    assert trainer.task.model_config().pad_multiple == 8


def test_generators_produce_every_image_the_losses_need(tmp_path: Path) -> None:
    trainer = cyclegan_trainer(tiny_config(), tmp_path, device=CPU)
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = trainer.task.gens(a, b, identity=True)
    assert set(out) == {"fake_a", "fake_b", "rec_a", "rec_b", "idt_a", "idt_b"}
    g_ab, g_ba = trainer.task.gens.g_ab, trainer.task.gens.g_ba
    assert torch.allclose(out["rec_a"], g_ba(g_ab(a)), atol=1e-5)
    assert torch.allclose(out["idt_b"], g_ab(b), atol=1e-5)
    assert set(trainer.task.gens(a, b, identity=False)) == {"fake_a", "fake_b", "rec_a", "rec_b"}


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = cyclegan_trainer(tiny_config(steps=4), tmp_path / "a", device=CPU)
    straight.fit(FakeDomains())
    first = cyclegan_trainer(tiny_config(steps=2), tmp_path / "b", device=CPU)
    first.fit(FakeDomains())
    resumed = cyclegan_trainer(tiny_config(steps=4), tmp_path / "b", device=CPU, resume=True)
    assert resumed.step == 2 and len(resumed.task.pool_a) == 3
    resumed.fit(FakeDomains())
    pairs = [
        (straight.task.gens, resumed.task.gens),
        (straight.task.discs, resumed.task.discs),
        (straight.task.ema_ab.shadow, resumed.task.ema_ab.shadow),
        (straight.task.ema_ba.shadow, resumed.task.ema_ba.shadow),
    ]
    for a, b in pairs:
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.allclose(pa, pb, atol=1e-6)
    for pa, pb in zip(straight.task.pool_b.images, resumed.task.pool_b.images, strict=True):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_mobilenet_guidance_terms(tmp_path: Path) -> None:
    try:
        trainer = cyclegan_trainer(tiny_config(content=1.0, style=1.0), tmp_path, device=CPU)
    except CheckpointNotFoundError as err:  # pragma: no cover - the file exists in the repo setup
        pytest.skip(f"MobileNetV2 ImageNet weights not found: {err}")
    logs = trainer.train_step({k: v[None] for k, v in FakeDomains()[1].items()})
    assert logs["content"] > 0 and logs["style"] > 0


def test_train_style_on_a_folder_and_a_single_painting(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    for i in range(2):
        write_image(tmp_path / "photos" / f"p{i}.png", torch.rand(3, 40, 56, generator=gen))
    write_image(tmp_path / "painting.png", torch.rand(3, 64, 48, generator=gen))
    data = CycleDataConfig(
        a=(str(tmp_path / "photos"),), b=(str(tmp_path / "painting.png"),), crop=32, batch=1,
        workers=0, sample_images=2, sample_crop=32,
    )  # fmt: skip
    cfg = dataclasses.replace(tiny_config(steps=2), data=data)
    item = make_domains(cfg)[5]
    assert item["a"].shape == item["b"].shape == (3, 32, 32)
    train(CycleGANTask, cfg, tmp_path / "run", device="cpu")
    assert (tmp_path / "run" / "samples" / "step_0000002.png").is_file()
    with pytest.raises(ConfigError, match="data.a"):
        train(CycleGANTask, tiny_config(), tmp_path / "run2", device="cpu")


def test_partial_overrides_keep_the_style_defaults() -> None:
    cfg = load_config(CycleGANConfig, None, ["optim.steps=7", "generator.kwargs={blocks: 1}"])
    assert cfg.generator.arch == "resnet" and cfg.discriminator.arch == "multiscale"
    assert cfg.optim.steps == 7 and cfg.optim.grad_clip == 0.0 and cfg.optim.decay_start == 0.5


def test_cli_train_style(tmp_path: Path) -> None:
    from daguerre.cli.app import app

    write_image(tmp_path / "a.png", torch.rand(3, 40, 40))
    write_image(tmp_path / "b.png", torch.rand(3, 40, 40))
    sets = [
        "generator.kwargs={base_channels: 4, blocks: 1}",
        "discriminator.kwargs={in_channels: 3, base_channels: 4, layers: 2, num_scales: 1}",
        "optim.steps=1", "data.crop=32", "data.workers=0", "data.sample_images=0",
    ]  # fmt: skip
    args = ["train", "style", "--a", tmp_path / "a.png", "--b", tmp_path / "b.png"]
    args += ["--out", tmp_path / "run", "--device", "cpu"]
    args += [x for s in sets for x in ("--set", s)]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "style" / "config.json").is_file()


def test_shipped_config_loads_strictly() -> None:
    cfg = load_config(CycleGANConfig, REPO / "configs" / "train" / "style.yaml")
    assert cfg.loss.cycle == 5.0 and cfg.loss.identity == 0.0 and cfg.pool_size == 50
    assert cfg.loss.style == 100.0 and cfg.loss.style_layers == (1, 3, 6, 13)
    assert cfg.optim.lr_g == 2e-4 and cfg.optim.beta1 == 0.5 and cfg.data.crop == 128


def test_two_process_ddp_keeps_replicas_identical(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "tests.train.test_cyclegan", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0 == r1 and r0["world"] == 2
    assert (tmp_path / "run" / "checkpoints").is_dir()


def _ddp_worker(out: Path) -> None:
    """Run by torchrun in the test above: 2 steps, then each rank's weight checksums."""
    torch.set_num_threads(1)
    trainer = cyclegan_trainer(tiny_config(steps=2), out / "run", device=CPU)
    trainer.fit(FakeDomains())
    record = {
        name: torch.cat([p.detach().flatten() for p in net.parameters()]).double().sum().item()
        for name, net in (("g", trainer.task.gens), ("d", trainer.task.discs))
    }
    record["world"] = trainer.run.dist.world
    (out / f"rank{os.environ['RANK']}.json").write_text(json.dumps(record))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    _ddp_worker(Path(sys.argv[1]))
