import dataclasses
from pathlib import Path

import pytest
import torch

from daguerre.io.image import write_image
from daguerre.train.checkpoints import checkpoint_dirs
from daguerre.train.real_domain import RealDomain, luminance
from daguerre.train.run import Run
from tests.train.fakes import FakePairs, restore_trainer, tiny_config

CPU = torch.device("cpu")


def _real_config(tmp_path: Path, steps: int) -> object:
    scans = tmp_path / "scans"
    scans.mkdir(exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for k in range(3):
        write_image(scans / f"scan{k}.png", torch.rand(3, 48, 40, generator=gen))
    cfg = tiny_config(steps=steps)
    return dataclasses.replace(
        cfg,
        data=dataclasses.replace(cfg.data, crop=32, real=(str(scans),)),
        loss=dataclasses.replace(cfg.loss, real_adversarial=0.5),
    )


def test_real_term_trains_its_discriminator_and_resumes_exactly(tmp_path: Path) -> None:
    straight = restore_trainer(_real_config(tmp_path, 4), tmp_path / "a", device=CPU)
    before = [p.clone() for p in straight.task.real.discriminator.parameters()]
    straight.fit(FakePairs(), None)
    after = list(straight.task.real.discriminator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert "real_adv" in (tmp_path / "a" / "metrics.jsonl").read_text()
    first = restore_trainer(_real_config(tmp_path, 2), tmp_path / "b", device=CPU)
    first.fit(FakePairs(), None)
    resumed = restore_trainer(_real_config(tmp_path, 4), tmp_path / "b", device=CPU, resume=True)
    resumed.fit(FakePairs(), None)
    assert checkpoint_dirs(tmp_path / "b")[-1].name == "step_0000004"
    pairs = zip(
        straight.task.generator.parameters(), resumed.task.generator.parameters(), strict=True
    )
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in pairs)


def test_real_term_judges_luminance_only_and_reaches_the_generator(tmp_path: Path) -> None:
    cfg = _real_config(tmp_path, 2)
    real = RealDomain(cfg, Run(cfg, tmp_path / "run", CPU))
    real.discriminator.eval()  # no spectral-norm power iteration between the two calls
    colour = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    gray = luminance(colour).expand(-1, 3, -1, -1)
    assert torch.allclose(real.g_term(colour), real.g_term(gray), atol=1e-5)
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    real.begin(0)
    real.g_term(real.restore(net)).backward()
    assert net.weight.grad is not None and net.weight.grad.abs().sum() > 0


def test_real_term_needs_real_scans(tmp_path: Path) -> None:
    cfg = tiny_config(steps=2)
    cfg = dataclasses.replace(cfg, loss=dataclasses.replace(cfg.loss, real_adversarial=0.5))
    with pytest.raises(ValueError, match="data.real"):
        restore_trainer(cfg, tmp_path, device=CPU)
