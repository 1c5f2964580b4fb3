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


def test_promoted_adain_leaves_the_imagenet_encoder_out_and_loads_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import load_file

    from daguerre.nn.mobilenet import MobileNetV2Features
    from tests.pipelines.test_stylize import save_tiny_adain

    torch.manual_seed(3)
    backbone = MobileNetV2Features(frozen=True)  # stands in for the ImageNet checkpoint
    monkeypatch.setattr("daguerre.weights.backbone.load_backbone", lambda *a, **k: backbone)
    run = save_tiny_adain(tmp_path / "run")
    trained, _ = load_model(run)
    trained.load_encoder(backbone)  # what the trainer does before it trains the decoder
    save_state_dict(run / "model.safetensors", trained.state_dict())
    folder = promote(run, "adain", root=tmp_path / "shipped", fp16=False)
    keys = set(load_file(str(folder / "model.safetensors")))
    assert keys and not any(k.startswith("encoder.") for k in keys)
    assert len(keys) < len(trained.state_dict())
    shipped, cfg = load_model(folder)
    assert cfg.kind == "adain"
    for (name, a), b in zip(
        trained.state_dict().items(), shipped.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(shipped(x, x), trained.eval()(x, x))
