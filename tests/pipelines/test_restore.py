from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from daguerre.pipelines.restore import RestoreOptions, RestoreOptionsError, restore, restore_tensor
from tests.pipelines.models import save_identity_model, save_offset_grade, save_random_model


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_identity_model(tmp_path_factory.mktemp("identity")))


@pytest.fixture(scope="module")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_random_model(tmp_path_factory.mktemp("random")))


@pytest.fixture(scope="module")
def mask_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_random_model(tmp_path_factory.mktemp("mask"), mask_channel=True))


@pytest.mark.parametrize("size", [(37, 53), (1, 40), (40, 1), (5, 7), (70, 33)])
def test_identity_model_returns_input_exactly_at_odd_sizes(identity: str, size: tuple) -> None:
    rgb = torch.rand(3, *size, generator=torch.Generator().manual_seed(0))
    out = restore_tensor(rgb, RestoreOptions(model=identity, tile=16, overlap=4))
    assert out.shape == rgb.shape
    assert torch.allclose(out, rgb, atol=1e-5)


def test_tiled_equals_whole_for_random_model(random_model: str) -> None:
    rgb = torch.rand(3, 48, 64, generator=torch.Generator().manual_seed(1))
    whole = restore_tensor(rgb, RestoreOptions(model=random_model, tile=0))
    tiled = restore_tensor(rgb, RestoreOptions(model=random_model, tile=32, overlap=16))
    assert (whole - tiled).abs().max() < 0.05


def test_strength_blends_linearly(random_model: str) -> None:
    rgb = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(2))
    full = restore_tensor(rgb, RestoreOptions(model=random_model))
    half = restore_tensor(rgb, RestoreOptions(model=random_model, strength=0.5))
    assert torch.allclose(half, 0.5 * rgb + 0.5 * full, atol=1e-5)
    assert torch.equal(restore_tensor(rgb, RestoreOptions(model=random_model, strength=0.0)), rgb)


def test_bad_strength_rejected() -> None:
    with pytest.raises(ValueError, match="strength"):
        RestoreOptions(strength=1.5)


def test_gray_in_gray_out(random_model: str) -> None:
    y = torch.rand(1, 24, 40, generator=torch.Generator().manual_seed(3))
    out = restore_tensor(y.expand(3, -1, -1).contiguous(), RestoreOptions(model=random_model))
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[1], out[2])


def test_mask_model_uses_the_mask(mask_model: str) -> None:
    rgb = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(4))
    mask = torch.zeros(1, 32, 32)
    mask[:, 10:14, :] = 1.0
    without = restore_tensor(rgb, RestoreOptions(model=mask_model))
    zeros = restore_tensor(rgb, RestoreOptions(model=mask_model), mask=torch.zeros(1, 32, 32))
    with_mask = restore_tensor(rgb, RestoreOptions(model=mask_model), mask=mask)
    assert torch.allclose(without, zeros, atol=1e-6)
    assert not torch.allclose(without, with_mask)


def test_a_prefill_model_gets_the_damage_filled_first(tmp_path: Path) -> None:
    from daguerre.pipelines.baseline import telea_fill

    gen = torch.Generator().manual_seed(5)
    clean = torch.linspace(0, 1, 40).repeat(3, 40, 1) * 0.8 + 0.1  # a smooth ramp
    mask = torch.zeros(1, 40, 40)
    mask[:, 18:23, :] = 1.0
    damaged = torch.where(mask > 0, torch.rand(3, 40, 40, generator=gen), clean)
    seeing = str(save_identity_model(tmp_path / "see", mask_channel=True))
    filling = str(save_identity_model(tmp_path / "fill", mask_channel=True, prefill=True))
    through = restore_tensor(damaged, RestoreOptions(model=seeing), mask=mask)
    filled = restore_tensor(damaged, RestoreOptions(model=filling), mask=mask)
    assert torch.allclose(through, damaged, atol=1e-5)  # an identity net keeps the damage
    assert torch.allclose(filled, telea_fill(damaged[None], mask[None])[0], atol=1e-5)
    inside = mask.expand(3, -1, -1) > 0
    assert (filled - clean)[inside].abs().mean() < 0.5 * (damaged - clean)[inside].abs().mean()
    assert torch.allclose(filled[~inside], damaged[~inside], atol=1e-5)


def test_damage_to_fill_goes_to_the_inpainting_restorer(tmp_path: Path) -> None:
    from daguerre.pipelines.baseline import telea_fill

    gen = torch.Generator().manual_seed(6)
    rgb = torch.rand(3, 40, 40, generator=gen)
    mask = torch.zeros(1, 40, 40)
    mask[:, 10:14, 5:30] = 1.0
    filling = save_identity_model(tmp_path / "fill", mask_channel=True, prefill=True)
    entry = str(save_identity_model(tmp_path / "entry", mask_channel=True, inpainting=str(filling)))
    options = RestoreOptions(model=entry)
    assert torch.allclose(restore_tensor(rgb, options), rgb, atol=1e-5)  # no mask: itself
    empty = restore_tensor(rgb, options, mask=torch.zeros(1, 40, 40))
    assert torch.allclose(empty, rgb, atol=1e-5)  # nothing to fill: itself, no Telea
    filled = restore_tensor(rgb, options, mask=mask)
    telea = telea_fill(rgb[None], mask[None])[0]
    inside = mask.expand(3, -1, -1) > 0
    assert torch.allclose(filled[inside], telea[inside], atol=1e-5)  # the inpainter's fill
    far = torch.ones(1, 40, 40, dtype=torch.bool)
    far[:, 10 - 3 : 14 + 3, 5 - 3 : 30 + 3] = False  # beyond the 3 px feather
    assert torch.allclose(filled[far.expand(3, -1, -1)], rgb[far.expand(3, -1, -1)], atol=1e-5)


def test_damage_windows_cover_the_damage_cell_by_cell() -> None:
    from daguerre.pipelines.restore import damage_windows

    mask = torch.zeros(1, 1, 100, 130)
    assert damage_windows(mask, 4, cell=20) == []
    mask[..., 5, 5] = 1.0  # cell (0, 0)
    mask[..., 50:52, 30:75] = 1.0  # cells (2, 1) to (2, 3)
    mask[..., 65, 30:75] = 1.0  # the same run a row of cells down: one window
    mask[..., 95, 125] = 1.0  # the last, partial cell
    mask[..., 41, 110] = 1.0  # 2 px below cell (1, 5): within the feather, so both
    pairs = damage_windows(mask, 4, cell=20, feather=3)
    cores = [(c[0].start, c[0].stop, c[1].start, c[1].stop) for _, c in pairs]
    assert cores == [(0, 20, 0, 20), (20, 60, 100, 120), (40, 80, 20, 80), (80, 100, 120, 130)]
    windows = [(w[0].start, w[0].stop, w[1].start, w[1].stop) for w, _ in pairs]
    assert windows == [(0, 24, 0, 24), (16, 64, 96, 124), (36, 84, 16, 84), (76, 100, 116, 130)]
    everywhere = damage_windows(torch.ones(1, 1, 100, 130), 4, cell=20)
    assert everywhere == [((slice(0, 100), slice(0, 130)),) * 2]


def test_the_inpainting_pass_runs_on_windows_around_the_damage(tmp_path: Path) -> None:
    rgb = torch.rand(3, 600, 640, generator=torch.Generator().manual_seed(7))
    mask = torch.zeros(1, 600, 640)
    mask[:, 550:554, 570:600] = 1.0  # far from the top left: the window leaves most out
    mask[:, 20:22, 20:22] = 1.0  # and a speck in the top left corner
    filler = str(save_random_model(tmp_path / "fill", mask_channel=True))
    entry = str(save_identity_model(tmp_path / "entry", mask_channel=True, inpainting=filler))
    out = restore_tensor(rgb, RestoreOptions(model=entry, precision="fp32"), mask=mask)
    whole = restore_tensor(rgb, RestoreOptions(model=filler, precision="fp32"), mask=mask)
    inside = mask.expand(3, -1, -1) > 0  # the window saw enough: as on the whole photo
    assert torch.allclose(out[inside], whole[inside], atol=1e-3)
    assert not torch.allclose(out[inside], rgb[inside], atol=1e-2)
    base = restore_tensor(rgb, RestoreOptions(model=entry, precision="fp32"))
    assert torch.equal(out[:, 300:440, :], base[:, 300:440, :])  # untouched: the entry model's
    assert not torch.allclose(out[:, 20:22, 20:22], rgb[:, 20:22, 20:22], atol=1e-2)


def test_a_fill_fades_into_the_restoration_over_the_feather() -> None:
    from daguerre.pipelines.restore import blend_fill_in_place

    restored, filled = torch.zeros(1, 3, 9, 20), torch.ones(1, 3, 9, 20)
    mask = torch.zeros(1, 1, 9, 20)
    mask[..., 8:10] = 1.0
    blend_fill_in_place(restored, filled, mask, feather=3)
    row = restored[0, 0, 4]
    assert torch.equal(row[8:10], torch.ones(2))  # the damage: the fill, whole
    assert torch.equal(row[:5], torch.zeros(5)) and torch.equal(row[13:], torch.zeros(7))
    assert torch.allclose(row[5:8], torch.tensor([0.25, 0.5, 0.75]))  # a ramp, no step
    assert torch.allclose(row[10:13], torch.tensor([0.75, 0.5, 0.25]))


def test_a_chain_of_inpainting_restorers_is_refused(tmp_path: Path) -> None:
    last = save_identity_model(tmp_path / "last", mask_channel=True)
    middle = save_identity_model(tmp_path / "mid", mask_channel=True, inpainting=str(last))
    entry = str(save_identity_model(tmp_path / "entry", mask_channel=True, inpainting=str(middle)))
    mask = torch.ones(1, 8, 8)
    with pytest.raises(RestoreOptionsError, match="inpainting model of its own"):
        restore_tensor(torch.rand(3, 8, 8), RestoreOptions(model=entry), mask=mask)
    missing = str(save_identity_model(tmp_path / "x", mask_channel=True, inpainting="nope-xyz"))
    with pytest.raises(RestoreOptionsError) as err:  # checked at load when scratches are on
        restore_tensor(torch.rand(3, 8, 8), RestoreOptions(model=missing, scratches="auto"))
    assert err.value.option == "model"


def test_mask_with_maskless_model_raises(random_model: str) -> None:
    with pytest.raises(ValueError, match="no mask input"):
        restore_tensor(
            torch.rand(3, 8, 8), RestoreOptions(model=random_model), mask=torch.ones(1, 8, 8)
        )


def test_api_keeps_type_size_and_alpha(identity: str) -> None:
    arr = (np.random.default_rng(0).random((21, 30, 4)) * 255).astype(np.uint8)
    out = restore(arr, model=identity)
    assert out.dtype == np.uint8 and out.shape == arr.shape
    assert np.array_equal(out[..., 3], arr[..., 3])
    assert np.abs(out.astype(int) - arr.astype(int)).max() <= 1
    pil = Image.fromarray(arr[..., :3]).convert("L")
    out_pil = restore(pil, model=identity)
    assert out_pil.mode == "L" and out_pil.size == pil.size


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    from daguerre.errors import CheckpointNotFoundError

    with pytest.raises(RestoreOptionsError, match="not found") as caught:
        restore_tensor(torch.rand(3, 8, 8), RestoreOptions(model=str(tmp_path / "none")))
    assert caught.value.option == "model"
    assert isinstance(caught.value.__cause__, CheckpointNotFoundError)


def test_scratches_option_reads_a_mask_file(mask_model: str, tmp_path: Path) -> None:
    from daguerre.io.image import write_image

    rgb = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(5))
    mask = torch.zeros(1, 32, 32)
    mask[:, 12:16, 4:28] = 1.0
    write_image(tmp_path / "mask.png", mask.expand(3, -1, -1))
    off = restore_tensor(rgb, RestoreOptions(model=mask_model))
    options = RestoreOptions(model=mask_model, scratches=str(tmp_path / "mask.png"))
    from_file = restore_tensor(rgb, options)
    assert torch.equal(from_file, restore_tensor(rgb, RestoreOptions(model=mask_model), mask=mask))
    assert (from_file - off)[:, 12:16, 4:28].abs().amax() > 1e-3


def test_scratches_auto_runs_the_detector(mask_model: str, tmp_path: Path) -> None:
    from daguerre.pipelines.scratches import DetectOptions, defect_mask, detect_defects
    from tests.pipelines.test_scratches import save_detector_model

    detector = str(save_detector_model(tmp_path / "detector"))
    rgb = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(6))
    options = RestoreOptions(model=mask_model, scratches="auto", scratch_model=detector)
    auto = restore_tensor(rgb, options)
    mask = defect_mask(detect_defects(rgb, DetectOptions(model=detector)), 0.5, 2)
    assert 0 < mask.mean() < 1
    assert torch.equal(auto, restore_tensor(rgb, RestoreOptions(model=mask_model), mask=mask))


def test_scratch_threshold_sets_the_inpainting_threshold(mask_model: str, tmp_path: Path) -> None:
    from daguerre.pipelines.scratches import DetectOptions, defect_mask, detect_defects
    from tests.pipelines.test_scratches import save_detector_model

    detector = str(save_detector_model(tmp_path / "detector"))
    rgb = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(6))
    prob = detect_defects(rgb, DetectOptions(model=detector))
    low = float(prob.quantile(0.2))  # marks about 80 % of the pixels before dilation
    options = RestoreOptions(
        model=mask_model, scratches="auto", scratch_model=detector, scratch_threshold=low
    )
    assert options.detect_options().threshold == low
    mask = defect_mask(prob, low, 2)
    assert mask.mean() > defect_mask(prob, 0.5, 2).mean()
    expected = restore_tensor(rgb, RestoreOptions(model=mask_model), mask=mask)
    assert torch.equal(restore_tensor(rgb, options), expected)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_scratch_threshold_outside_unit_range_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="scratch_threshold"):
        RestoreOptions(scratches="auto", scratch_threshold=bad)


def test_scratches_with_maskless_model_raises(random_model: str) -> None:
    with pytest.raises(RestoreOptionsError, match="no mask input") as caught:
        restore_tensor(torch.rand(3, 8, 8), RestoreOptions(model=random_model, scratches="auto"))
    assert caught.value.option == "scratches"


def test_scratch_threshold_needs_scratches_auto() -> None:
    with pytest.raises(RestoreOptionsError, match="needs scratches 'auto'") as caught:
        RestoreOptions(scratch_threshold=0.3)
    assert caught.value.option == "scratch_threshold"


def test_scratches_naming_nothing_is_refused_before_any_photo(mask_model: str) -> None:
    with pytest.raises(RestoreOptionsError, match="not off, auto") as caught:
        restore_tensor(torch.rand(3, 8, 8), RestoreOptions(model=mask_model, scratches="nope"))
    assert caught.value.option == "scratches"


def test_grade_option_applies_the_named_grade(identity: str, tmp_path: Path) -> None:
    grade = str(save_offset_grade(tmp_path / "grade", 0.1))
    rgb = torch.rand(3, 30, 44, generator=torch.Generator().manual_seed(7)) * 0.8
    plain = restore_tensor(rgb, RestoreOptions(model=identity))  # identity names no grade
    graded = restore_tensor(rgb, RestoreOptions(model=identity, grade=grade, tile=16, overlap=4))
    off = restore_tensor(rgb, RestoreOptions(model=identity, grade="off"))
    assert torch.allclose(plain, rgb, atol=1e-5) and torch.equal(plain, off)
    assert torch.allclose(graded, rgb + 0.1, atol=1e-5)


def test_auto_grade_comes_from_the_restorer_config(tmp_path: Path) -> None:
    import json

    grade = save_offset_grade(tmp_path / "grade", -0.2)
    model = save_identity_model(tmp_path / "restorer")
    config = json.loads((model / "config.json").read_text())
    config["extra"]["grade"] = str(grade)
    (model / "config.json").write_text(json.dumps(config))
    rgb = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(8)) * 0.5 + 0.4
    out = restore_tensor(rgb, RestoreOptions(model=str(model)))
    assert torch.allclose(out, rgb - 0.2, atol=1e-5)
    off = restore_tensor(rgb, RestoreOptions(model=str(model), grade="off"))
    assert torch.allclose(off, rgb, atol=1e-5)


def test_grade_option_rejects_a_model_of_another_kind(identity: str) -> None:
    with pytest.raises(RestoreOptionsError, match="not a colour grade") as caught:
        restore_tensor(torch.rand(3, 16, 16), RestoreOptions(model=identity, grade=identity))
    assert caught.value.option == "grade"


@pytest.mark.parametrize("size", [(1, 40), (40, 1), (5, 7)])
def test_grade_handles_strips_and_tiny_images(identity: str, tmp_path: Path, size: tuple) -> None:
    grade = str(save_offset_grade(tmp_path / "grade", 0.1))
    rgb = torch.rand(3, *size, generator=torch.Generator().manual_seed(9)) * 0.8
    out = restore_tensor(rgb, RestoreOptions(model=identity, grade=grade, tile=16, overlap=4))
    assert out.shape == rgb.shape and torch.allclose(out, rgb + 0.1, atol=1e-5)


@pytest.mark.parametrize("size", [(37, 53), (1, 40), (5, 7)])
def test_ensemble_of_the_identity_returns_the_input(identity: str, size: tuple) -> None:
    rgb = torch.rand(3, *size, generator=torch.Generator().manual_seed(0))
    out = restore_tensor(rgb, RestoreOptions(model=identity, tile=16, overlap=4, ensemble=8))
    assert out.shape == rgb.shape and torch.allclose(out, rgb, atol=1e-5)


def test_ensemble_averages_flipped_runs(random_model: str) -> None:
    rgb = torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(4))
    plain = restore_tensor(rgb, RestoreOptions(model=random_model))
    flipped = restore_tensor(rgb.flip(-1), RestoreOptions(model=random_model)).flip(-1)
    calls: list[tuple[int, int]] = []
    two = restore_tensor(
        rgb,
        RestoreOptions(model=random_model, ensemble=2),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert torch.allclose(two, ((plain + flipped) / 2).clamp(0, 1), atol=1e-5)
    assert not torch.allclose(two, plain, atol=1e-3)
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_bad_ensemble_size_rejected() -> None:
    with pytest.raises(RestoreOptionsError, match="ensemble must be one of"):
        RestoreOptions(ensemble=3)


def test_bf16_restoration_stays_close_to_fp32(
    random_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daguerre.infer import device

    rgb = torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(3))
    fp32 = restore_tensor(rgb, RestoreOptions(model=random_model))
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    bf16 = restore_tensor(rgb, RestoreOptions(model=random_model))
    assert bf16.dtype == torch.float32 and bf16.shape == rgb.shape
    assert 0 < float((bf16 - fp32).abs().max()) < 0.02  # bf16 did run, and barely moved it
