from pathlib import Path

import pytest
import torch

from daguerre.errors import CheckpointNotFoundError
from daguerre.weights.checkpoint import load_model, save_state_dict
from daguerre.weights.promote import promote, verify
from tests.pipelines.models import save_random_model


def test_promote_prefers_ema_casts_fp16_and_writes_card_and_sums(tmp_path: Path) -> None:
    ckpt = save_random_model(tmp_path / "ckpt")
    net, _ = load_model(ckpt)
    ema = {k: v + 0.5 if v.is_floating_point() else v for k, v in net.state_dict().items()}
    save_state_dict(ckpt / "ema.safetensors", ema)
    folder = promote(ckpt, "m", root=tmp_path / "shipped")
    loaded, cfg = load_model(folder)
    assert cfg.dtype == "float16"
    first = next(iter(ema))
    assert torch.allclose(loaded.state_dict()[first], ema[first], atol=1e-2)
    assert (folder / "MODEL_CARD.md").read_text().startswith("# Model card: m")
    assert verify(tmp_path / "shipped") == []
    (folder / "model.safetensors").write_bytes(b"broken")
    assert "checksum mismatch" in verify(tmp_path / "shipped")[0]


def test_promote_without_weights_raises(tmp_path: Path) -> None:
    ckpt = save_random_model(tmp_path / "ckpt")
    (ckpt / "model.safetensors").unlink()
    with pytest.raises(CheckpointNotFoundError):
        promote(ckpt, "m", root=tmp_path / "shipped")
