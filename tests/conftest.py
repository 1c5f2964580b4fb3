"""Shared fixtures: seeded CPU generators and tiny images; --runslow opt-in."""

from __future__ import annotations

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="needs --runslow")
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if item.get_closest_marker("slow") and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if item.get_closest_marker("gpu") and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


@pytest.fixture
def gen() -> torch.Generator:
    """A CPU generator seeded with 0."""
    return torch.Generator("cpu").manual_seed(0)


@pytest.fixture
def tiny_image(gen: torch.Generator) -> torch.Tensor:
    """A smooth-ish (2,3,32,32) float32 image in [0,1] with some structure."""
    base = torch.rand(2, 3, 8, 8, generator=gen)
    return torch.nn.functional.interpolate(
        base, size=(32, 32), mode="bilinear", align_corners=False
    )


@pytest.fixture
def niqe_params() -> None:
    """NIQE's pristine parameters ship inside the package, so this never skips: a missing
    shipped file is a broken install and fails the test (CheckpointNotFoundError)."""
    from daguerre.metrics.niqe import find_niqe_params

    find_niqe_params()


@pytest.fixture(autouse=True)
def _fp32_on_every_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in float32 whatever the CPU: hide native bf16 (AMX, AVX512-BF16), which would
    turn on bf16 autocast.

    A test about the bf16 path sets ``daguerre.infer.device.cpu_has_fast_bf16`` itself.
    """
    from daguerre.infer import device

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: False)
