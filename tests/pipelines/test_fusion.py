import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from daguerre.pipelines.fusion import (
    FusionConfig,
    add_upsampled_,
    fuse_in_place,
    gaussian_blur_signed,
    resize_mask,
    shrink_area,
)
from daguerre.pipelines.manifest import ManifestError, restorer_manifest
from daguerre.pipelines.restore import (
    RestoreOptions,
    RestoreOptionsError,
    load_restorer,
    restore_tensor,
)
from tests.pipelines.models import save_identity_model, save_random_model

DETAIL = {"expert": "digital", "scale": 0.5, "sigma": 1.0}


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _highpass(x: torch.Tensor) -> torch.Tensor:
    return x - gaussian_blur_signed(x, 2.0)


@pytest.fixture(scope="module")
def fused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A print expert (random: changes tone and detail) taking its detail from an identity."""
    root = tmp_path_factory.mktemp("fusion")
    digital = save_identity_model(root / "digital")
    primary = save_random_model(root / "print", seed=3)
    config = json.loads((primary / "config.json").read_text())
    config["extra"].update(experts={"digital": str(digital)}, detail=DETAIL)
    (primary / "config.json").write_text(json.dumps(config))
    return {"print": str(primary), "digital": str(digital)}


@pytest.mark.parametrize(
    ("small", "large"), [((5, 7), (9, 14)), ((1, 3), (4, 5)), ((6, 6), (6, 6))]
)
def test_banded_upsampling_equals_one_interpolation(
    small: tuple[int, int], large: tuple[int, int]
) -> None:
    low = _rand(2, 3, *small) - 0.5
    target = _rand(2, 3, *large, seed=1)
    expected = target + F.interpolate(low, size=large, mode="bilinear", align_corners=False)
    out = add_upsampled_(target.clone(), low, band_rows=3)
    assert torch.allclose(out, expected, atol=1e-6)


def test_signed_blur_keeps_constants_and_the_mean() -> None:
    assert torch.allclose(
        gaussian_blur_signed(torch.full((1, 3, 1, 5), -0.3), 1.0), torch.tensor(-0.3)
    )
    x = _rand(1, 3, 32, 32) - 0.5
    blurred = gaussian_blur_signed(x, 1.5)
    assert blurred.shape == x.shape
    assert abs(float(blurred.mean() - x.mean())) < 0.01
    assert float(_highpass(blurred).abs().mean()) < 0.5 * float(_highpass(x).abs().mean())


def test_fusion_takes_tone_from_one_image_and_detail_from_the_other() -> None:
    checker = (torch.arange(32).view(-1, 1) + torch.arange(40)) % 2  # 1-px checkerboard
    detail = (0.5 + 0.1 * checker.float()).expand(1, 3, 32, 40).clone()
    tone_small = torch.full((1, 3, 16, 20), 0.3)  # darker, and no detail at all
    out = fuse_in_place(detail, tone_small, sigma=1.0)
    assert abs(float(out.mean()) - 0.3) < 0.005  # the tone (mean level) of the small image
    steps = 0.1 * (checker[1:] - checker[:-1]).float()  # the detail image's pixel-to-pixel steps
    assert torch.allclose(out[..., 1:, :] - out[..., :-1, :], steps, atol=0.02)


def test_fusion_with_its_own_downscale_changes_nothing() -> None:
    detail = _rand(1, 3, 24, 31)
    small = shrink_area(detail, (12, 15))
    assert small.shape == (1, 3, 12, 15)
    assert torch.allclose(fuse_in_place(detail.clone(), small, 1.0), detail, atol=1e-5)


def test_mask_shrinks_without_losing_damage() -> None:
    mask = torch.zeros(1, 1, 9, 9)
    mask[0, 0, 4, 7] = 1.0
    small = resize_mask(mask, (5, 5))
    assert small.shape == (1, 1, 5, 5) and float(small.sum()) >= 1.0


def test_fusion_config_is_read_strictly() -> None:
    experts = {"digital": "restore-digital"}
    assert restorer_manifest("m", {"experts": experts}).detail is None
    manifest = restorer_manifest("m", {"experts": experts, "detail": DETAIL})
    assert manifest.detail == FusionConfig("digital", 0.5, 1.0)
    assert manifest.detail_model == "restore-digital"
    bad = [
        {"expert": "digital", "blur": 2},
        {"scale": 0.5},
        {"expert": "film"},
        {"expert": "digital", "scale": 1.5},
        {"expert": "digital", "sigma": "wide"},
    ]
    for spec in bad:
        with pytest.raises(ManifestError, match="extra.detail"):
            restorer_manifest("m", {"experts": experts, "detail": spec})


def test_a_print_gets_the_detail_of_the_detail_expert(fused: dict[str, str]) -> None:
    rgb = _rand(3, 48, 64, seed=5)
    alone = restore_tensor(rgb, RestoreOptions(model=fused["print"], fusion="off"))
    out = restore_tensor(rgb, RestoreOptions(model=fused["print"], monochrome="off"))
    assert out.shape == rgb.shape
    # the detail expert is an identity: fine detail is the input's, tone the print expert's
    hp_in, hp_out, hp_alone = (_highpass(x[None]) for x in (rgb, out, alone))
    assert float((hp_out - hp_in).abs().mean()) < 0.5 * float((hp_alone - hp_in).abs().mean())
    blur = lambda x: gaussian_blur_signed(x[None], 3.0)  # noqa: E731
    assert float((blur(out) - blur(alone)).abs().mean()) < float(
        (blur(rgb) - blur(alone)).abs().mean()
    )


def test_fused_output_keeps_gray_and_strength(fused: dict[str, str]) -> None:
    gray = _rand(1, 40, 40, seed=6).expand(3, 40, 40).clone()
    out = restore_tensor(gray, RestoreOptions(model=fused["print"]))
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    rgb = _rand(3, 40, 40, seed=7)
    full = restore_tensor(rgb, RestoreOptions(model=fused["print"], monochrome="off"))
    half = restore_tensor(rgb, RestoreOptions(model=fused["print"], monochrome="off", strength=0.5))
    assert torch.allclose(half, rgb + 0.5 * (full - rgb), atol=1e-5)


def test_unknown_fusion_mode_and_missing_detail_expert_fail(tmp_path: Path) -> None:
    with pytest.raises(RestoreOptionsError, match="fusion must be one of"):
        RestoreOptions(fusion="blend")
    model = save_identity_model(tmp_path / "model")
    config = json.loads((model / "config.json").read_text())
    config["extra"].update(experts={"digital": str(tmp_path / "gone")}, detail=DETAIL)
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(RestoreOptionsError, match="not found") as caught:
        load_restorer(RestoreOptions(model=str(model), photo_type="print"))
    assert caught.value.option == "fusion"
    load_restorer(RestoreOptions(model=str(model), photo_type="print", fusion="off"))


@pytest.mark.parametrize("shape", [(3, 1, 9), (3, 7, 1), (3, 1, 1), (3, 37, 23)])
def test_identity_experts_fuse_to_the_input_at_any_size(
    tmp_path: Path, shape: tuple[int, int, int]
) -> None:
    digital = save_identity_model(tmp_path / "digital")
    primary = save_identity_model(tmp_path / "print")
    config = json.loads((primary / "config.json").read_text())
    config["extra"].update(experts={"digital": str(digital)}, detail=DETAIL)
    (primary / "config.json").write_text(json.dumps(config))
    rgb = _rand(*shape, seed=8)
    out = restore_tensor(
        rgb, RestoreOptions(model=str(primary), monochrome="off", tile=16, overlap=4)
    )
    assert out.shape == rgb.shape
    assert torch.allclose(out, rgb, atol=1e-5)
