import json
from pathlib import Path

import pytest
import torch

from daguerre.errors import CheckpointMismatchError, CheckpointNotFoundError
from daguerre.nn.generators.unet import UNetGenerator
from daguerre.weights import list_models, model_dir
from daguerre.weights.checkpoint import ModelConfig, load_model, save_model

KW = {"base_channels": 8, "depth": 2, "max_channels": 16, "bottleneck_blocks": 1}


def _save(folder: Path, **kw: object) -> UNetGenerator:
    net = UNetGenerator(**KW).eval()
    save_model(folder, net, ModelConfig(arch="unet", kwargs=KW, pad_multiple=4), **kw)  # type: ignore[arg-type]
    return net


def test_fp16_save_loads_as_float32(tmp_path: Path) -> None:
    net = _save(tmp_path, dtype=torch.float16)
    loaded, cfg = load_model(tmp_path)
    assert cfg.dtype == "float16" and cfg.pad_multiple == 4
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(net(x), loaded(x), atol=2e-2)


def test_mismatch_lists_keys(tmp_path: Path) -> None:
    _save(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["kwargs"]["depth"] = 3
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointMismatchError, match="missing"):
        load_model(tmp_path)


def test_unknown_config_key_is_rejected(tmp_path: Path) -> None:
    _save(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["surprise"] = 1
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointMismatchError, match="surprise"):
        load_model(tmp_path)


def test_missing_folder_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError):
        load_model(tmp_path / "nope")
    with pytest.raises(CheckpointNotFoundError, match="not found"):
        model_dir("no-such-model")


def test_no_temp_files_left(tmp_path: Path) -> None:
    _save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_list_models_returns_names() -> None:
    assert isinstance(list_models(), list)
