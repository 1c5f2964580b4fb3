"""``daguerre.pipelines.age``: type round trips, determinism, strength, masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from daguerre.degrade.base import generator_for
from daguerre.degrade.presets import build_preset
from daguerre.errors import UnknownNameError
from daguerre.pipelines.age import age, age_tensor, age_with_mask, file_seed


def _rgb(h: int = 32, w: int = 40) -> torch.Tensor:
    base = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    return torch.nn.functional.interpolate(base, size=(h, w), mode="bilinear")[0]


def test_tensor_in_tensor_out_and_deterministic() -> None:
    img = _rgb()
    first, second = age(img, seed=5), age(img, seed=5)
    assert first.shape == img.shape and first.dtype == torch.float32
    assert torch.equal(first, second)
    assert 0.0 <= float(first.min()) and float(first.max()) <= 1.0
    assert not torch.equal(first, img)
    batch = age(torch.stack([img, img]), seed=5)
    assert batch.shape == (2, 3, 32, 40)


def test_seeds_differ() -> None:
    img = _rgb()
    outputs = [age(img, seed=seed) for seed in range(3)]
    assert not (torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[1], outputs[2]))


def test_numpy_uint8_and_float_round_trip() -> None:
    img = _rgb()
    as_uint8 = np.rint(img.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    out8, mask8 = age_with_mask(as_uint8, seed=2)
    assert out8.dtype == np.uint8 and out8.shape == (32, 40, 3)
    assert mask8.dtype == np.uint8 and mask8.shape == (32, 40)
    as_float = img.permute(1, 2, 0).numpy()
    out_float = age(as_float, seed=2)
    assert out_float.dtype == np.float32 and out_float.shape == (32, 40, 3)
    assert 0.0 <= out_float.min() and out_float.max() <= 1.0


def test_pil_round_trip_keeps_mode_size_and_alpha() -> None:
    rgb = Image.new("RGB", (40, 24), (200, 170, 140))
    aged, mask = age_with_mask(rgb, seed=1)
    assert (aged.mode, aged.size, mask.mode, mask.size) == ("RGB", (40, 24), "L", (40, 24))
    assert age(rgb.convert("L"), seed=1).mode == "L"
    rgba = rgb.copy()
    rgba.putalpha(Image.new("L", (40, 24), 77))
    out = age(rgba, seed=1)
    assert out.mode == "RGBA" and out.getchannel("A").getextrema() == (77, 77)


def test_strength_blends_towards_the_input() -> None:
    img = _rgb()
    op = build_preset("aged")
    batch = img[None]
    none = age_tensor(batch, op, generator_for(3), strength=0.0)
    full = age_tensor(batch, op, generator_for(3), strength=1.0)
    half = age_tensor(batch, op, generator_for(3), strength=0.5)
    assert torch.equal(none.image, batch)
    assert torch.allclose(half.image, (batch + full.image) / 2, atol=1e-6)
    assert torch.equal(none.mask, full.mask)
    with pytest.raises(ValueError, match="strength"):
        age_tensor(batch, op, generator_for(3), strength=1.5)


def test_mask_shape_and_params_are_json_able() -> None:
    import json

    result = age_tensor(_rgb()[None], build_preset("aged"), generator_for(0))
    assert result.mask.shape == (1, 1, 32, 40)
    assert 0.0 <= float(result.mask.min()) and float(result.mask.max()) <= 1.0
    assert json.loads(json.dumps(result.params)) == result.params


def test_errors() -> None:
    with pytest.raises(UnknownNameError, match="choose from"):
        age(_rgb(), preset="ancient")
    with pytest.raises(ValueError):
        age(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError):
        age([[0.5]])  # type: ignore[type-var]


def test_file_seed_is_stable_and_name_dependent() -> None:
    assert file_seed(7, "photo") == file_seed(7, "photo")
    assert len({file_seed(7, "a"), file_seed(7, "b"), file_seed(8, "a")}) == 3
    assert file_seed(0, "x") == 6954302760706977299  # fixed across Python runs and machines
    assert 0 <= file_seed(2**40, "sub/photo") < 2**63


def test_lazy_top_level_export() -> None:
    import daguerre

    assert daguerre.age is age
