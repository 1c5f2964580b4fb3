"""Style training without cycle and GAN terms (issue 27): only g_ab runs and learns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from daguerre.errors import CheckpointNotFoundError
from tests.train.test_cyclegan import (  # noqa: F401  (_one_thread: autouse, one thread)
    FakeDomains,
    _one_thread,
    cyclegan_trainer,
    tiny_config,
)

CPU = torch.device("cpu")


def _batch(n: int = 0) -> dict[str, torch.Tensor]:
    return {k: v[None] for k, v in FakeDomains()[n].items()}


def _copy(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_without_cycle_and_gan_only_g_ab_runs_and_learns(tmp_path: Path) -> None:
    cfg = tiny_config(adversarial=0.0, cycle=0.0, identity=0.5, content=1.0)
    assert not cfg.loss.needs_reverse and tiny_config().loss.needs_reverse
    try:
        trainer = cyclegan_trainer(cfg, tmp_path, device=CPU)
    except CheckpointNotFoundError:
        pytest.skip("the content term needs the MobileNetV2 backbone (make install)")
    task = trainer.task
    calls = {"g_ab": 0, "g_ba": 0}
    for name in calls:
        getattr(task.gens, name).register_forward_hook(
            lambda *_, n=name: calls.__setitem__(n, calls[n] + 1)
        )
    g_ab, g_ba, discs = _copy(task.gens.g_ab), _copy(task.gens.g_ba), _copy(task.discs)
    logs = trainer.train_step(_batch())
    assert calls == {"g_ab": 1, "g_ba": 0}
    assert set(logs) == {"g_grad", "content", "g"}  # no cycle, identity or adversarial terms
    assert logs["content"] > 0
    assert any(
        not torch.equal(a, b) for a, b in zip(g_ab, task.gens.g_ab.parameters(), strict=True)
    )
    assert all(torch.equal(a, b) for a, b in zip(g_ba, task.gens.g_ba.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(discs, task.discs.parameters(), strict=True))


def test_the_reverse_generator_still_runs_for_a_cycle_term(tmp_path: Path) -> None:
    trainer = cyclegan_trainer(tiny_config(adversarial=0.0, cycle=1.0), tmp_path, device=CPU)
    logs = trainer.train_step(_batch())
    assert {"cyc_a", "cyc_b"} <= set(logs) and "adv" not in logs
