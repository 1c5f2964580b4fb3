"""Style training without cycle and GAN terms (issue 27): only g_ab runs; Gram, TV, jitter."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from daguerre.config import load_config
from daguerre.errors import CheckpointNotFoundError, ConfigError
from daguerre.train.cyclegan_task import CycleGANConfig, CycleLossConfig
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
    cfg = tiny_config(adversarial=0.0, cycle=0.0, identity=0.5, tv=1.0)
    assert not cfg.loss.needs_reverse and tiny_config().loss.needs_reverse
    trainer = cyclegan_trainer(cfg, tmp_path, device=CPU)
    task = trainer.task
    calls = {"g_ab": 0, "g_ba": 0}
    for name in calls:
        getattr(task.gens, name).register_forward_hook(
            lambda *_, n=name: calls.__setitem__(n, calls[n] + 1)
        )
    g_ab, g_ba, discs = _copy(task.gens.g_ab), _copy(task.gens.g_ba), _copy(task.discs)
    logs = trainer.train_step(_batch())
    assert calls == {"g_ab": 1, "g_ba": 0}
    assert set(logs) == {"g_grad", "tv", "g"}  # no cycle, identity or adversarial terms
    assert logs["tv"] > 0
    assert any(
        not torch.equal(a, b) for a, b in zip(g_ab, task.gens.g_ab.parameters(), strict=True)
    )
    assert all(torch.equal(a, b) for a, b in zip(g_ba, task.gens.g_ba.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(discs, task.discs.parameters(), strict=True))


def test_the_reverse_generator_still_runs_for_a_cycle_term(tmp_path: Path) -> None:
    trainer = cyclegan_trainer(tiny_config(adversarial=0.0, cycle=1.0), tmp_path, device=CPU)
    logs = trainer.train_step(_batch())
    assert {"cyc_a", "cyc_b"} <= set(logs) and "adv" not in logs


def test_style_layer_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="style_layer_weights"):
        CycleLossConfig(style_layers=(3, 6), style_layer_weights=(1.0, 2.0, 3.0))
    with pytest.raises(ConfigError, match="style_jitter"):
        CycleLossConfig(style_jitter=-1)
    cfg = load_config(
        CycleGANConfig,
        None,
        ["loss.style_layers=[3, 13]", "loss.style_layer_weights=[1, 4]", "loss.style_norm=target"],
    )
    assert cfg.loss.style_layer_weights == (1.0, 4.0) and cfg.loss.style_norm == "target"
    with pytest.raises(ConfigError):
        load_config(CycleGANConfig, None, ["loss.style_norm=mean"])


def test_style_jitter_crops_by_random_offsets_and_resumes(tmp_path: Path) -> None:
    cfg = tiny_config(adversarial=0.0, cycle=0.0, style_jitter=4)
    task = cyclegan_trainer(cfg, tmp_path, device=CPU).task
    state = task.state_dict()
    sizes = {tuple(task.losses._jitter(torch.rand(1, 3, 32, 32)).shape[-2:]) for _ in range(20)}
    assert len(sizes) > 1 and all(24 <= h <= 32 and 24 <= w <= 32 for h, w in sizes)
    task.load_state_dict(state)  # the jitter draws replay after a resume
    again = {tuple(task.losses._jitter(torch.rand(1, 3, 32, 32)).shape[-2:]) for _ in range(20)}
    assert again == sizes
    task.load_state_dict({k: v for k, v in state.items() if k != "jitter_gen"})  # older runs


def test_normalised_gram_term_trains_with_mobilenet(tmp_path: Path) -> None:
    cfg = tiny_config(
        adversarial=0.0, cycle=0.0, content=1.0, style=1.0, style_layers=(3, 13),
        style_layer_weights=(1.0, 2.0), style_norm="target", style_jitter=4,
    )  # fmt: skip
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, batch=1))
    try:
        trainer = cyclegan_trainer(cfg, tmp_path, device=CPU)
    except CheckpointNotFoundError as err:  # pragma: no cover - the file exists in the repo setup
        pytest.skip(f"MobileNetV2 ImageNet weights not found: {err}")
    logs = trainer.train_step(_batch(1))
    assert logs["style"] > 0 and logs["content"] > 0 and torch.isfinite(torch.tensor(logs["g"]))
