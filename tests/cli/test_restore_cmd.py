"""``daguerre restore`` end to end with a tiny identity model folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.io.image import read_image, to_pil
from tests.badfiles import BAD_KEYS, make_corpus
from tests.pipelines.models import save_identity_model

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_identity_model(tmp_path_factory.mktemp("model")))


def _restore(*args: str | Path, env: dict[str, str] | None = None) -> object:
    return runner.invoke(app, ["restore", *map(str, args)], env=env)


def _said(result: object) -> str:
    """The output with Rich's error box unwrapped into one line."""
    return " ".join(result.output.replace("│", " ").split())  # type: ignore[attr-defined]


def test_corpus_good_files_restored_bad_files_reported(tmp_path: Path, model: str) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _restore(
        tmp_path / "in", "-o", tmp_path / "out", "--model", model, "--tile", "16", "--overlap", "4"
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for key in BAD_KEYS:
        if key != "truncated_jpeg":  # shares its stem with truncated_png: reported as collision
            assert corpus[key].name in result.output, key
    png16 = read_image(tmp_path / "out" / f"{corpus['png16'].stem}.png")
    src16 = read_image(corpus["png16"])
    assert png16.meta.bit_depth == 16 and png16.meta.size == src16.meta.size
    assert torch.allclose(png16.rgb, src16.rgb, atol=1e-4)  # identity model, 16-bit kept
    rgba = read_image(tmp_path / "out" / f"{corpus['rgba'].stem}.png")
    assert rgba.alpha is not None
    assert torch.equal(rgba.alpha, read_image(corpus["rgba"]).alpha)
    gray = read_image(tmp_path / "out" / f"{corpus['gray16'].stem}.png")
    assert gray.meta.is_gray
    rotated = read_image(tmp_path / "out" / f"{corpus['exif_rotated'].stem}.png")
    assert rotated.meta.size == read_image(corpus["exif_rotated"]).meta.size


def test_overlap_not_below_tile_is_a_usage_error(tmp_path: Path, model: str) -> None:
    make_corpus(tmp_path / "in")
    result = _restore(tmp_path / "in", "-o", tmp_path / "out", "--model", model, "--tile", "16")
    assert result.exit_code == 2 and "overlap" in result.output


def test_ensemble_option(tmp_path: Path, model: str) -> None:
    make_corpus(tmp_path / "in")
    result = _restore(tmp_path / "in", "-o", tmp_path / "bad", "--model", model, "--ensemble", "5")
    assert result.exit_code == 2 and "--ensemble" in result.output
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
    photo = tmp_path / "one" / "p.png"
    photo.parent.mkdir()
    to_pil(torch.rand(3, 21, 34, generator=torch.Generator().manual_seed(0))).save(photo)
    result = _restore(photo, "-o", tmp_path / "out", "--model", model, "--ensemble", "8", "-q")
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out" / "p.png").rgb
    assert torch.allclose(out, read_image(photo).rgb, atol=1 / 255)  # the identity, eight times


def test_missing_model_is_a_usage_error(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in")
    result = _restore(tmp_path / "in", "-o", tmp_path / "out", "--model", tmp_path / "nope")
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("grade", ["nope", "model"])
def test_missing_or_wrong_grade_is_a_usage_error(tmp_path: Path, model: str, grade: str) -> None:
    make_corpus(tmp_path / "in")
    named = str(tmp_path / "nope") if grade == "nope" else model  # a restorer is no grade
    result = _restore(tmp_path / "in", "-o", tmp_path / "out", "--model", model, "--grade", named)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_sharding_by_rank_and_skip_existing(tmp_path: Path, model: str) -> None:
    corpus = make_corpus(tmp_path / "in")
    good = [corpus[k] for k in ("good_rgb", "rgba", "bmp", "webp")]
    args = [*good, "-o", tmp_path / "out", "--model", model]
    _restore(*args, env={"RANK": "0", "WORLD_SIZE": "2"})
    first = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(first) == 2
    _restore(*args, env={"RANK": "1", "WORLD_SIZE": "2"})
    assert len(list((tmp_path / "out").iterdir())) == 4
    result = _restore(*args, "--skip-existing")
    assert result.exit_code == 0 and "4 skipped" in result.output


# --- --scratches ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mask_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.pipelines.models import save_random_model

    return str(save_random_model(tmp_path_factory.mktemp("mask_model"), mask_channel=True))


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.pipelines.test_scratches import save_detector_model

    return str(save_detector_model(tmp_path_factory.mktemp("detector")))


def _photo(folder: Path, name: str = "photo.png") -> Path:
    from daguerre.io.image import write_image

    rgb = torch.rand(3, 32, 40, generator=torch.Generator().manual_seed(0))
    return write_image(folder / name, rgb)


def test_scratches_mask_file_changes_the_masked_pixels(tmp_path: Path, mask_model: str) -> None:
    from daguerre.io.image import write_image

    photo = _photo(tmp_path)
    mask = torch.zeros(3, 32, 40)
    mask[:, 10:14, 5:35] = 1.0
    mask_file = write_image(tmp_path / "masks" / "m.png", mask)
    args = [photo, "--model", mask_model]
    assert _restore(*args, "-o", tmp_path / "off").exit_code == 0
    result = _restore(*args, "-o", tmp_path / "on", "--scratches", mask_file)
    assert result.exit_code == 0, result.output
    off = read_image(tmp_path / "off" / "photo.png").rgb
    on = read_image(tmp_path / "on" / "photo.png").rgb
    assert (on - off)[:, 10:14, 5:35].abs().amax() > 2 / 255


def test_scratches_auto_equals_detect_then_mask_folder(
    tmp_path: Path, mask_model: str, detector: str
) -> None:
    photo = _photo(tmp_path / "in")
    detected = runner.invoke(
        app, ["detect", str(photo), "-o", str(tmp_path / "masks"), "--model", detector]
    )
    assert detected.exit_code == 0, detected.output
    args = [photo, "--model", mask_model, "--scratch-model", detector]
    assert _restore(*args, "-o", tmp_path / "auto", "--scratches", "auto").exit_code == 0
    result = _restore(*args, "-o", tmp_path / "dir", "--scratches", tmp_path / "masks")
    assert result.exit_code == 0, result.output
    auto = read_image(tmp_path / "auto" / "photo.png").rgb
    assert torch.equal(auto, read_image(tmp_path / "dir" / "photo.png").rgb)


def test_scratch_threshold_equals_detect_at_that_threshold(
    tmp_path: Path, mask_model: str, detector: str
) -> None:
    photo = _photo(tmp_path / "in")
    detect_args = ["detect", str(photo), "-o", str(tmp_path / "masks"), "--model", detector]
    detected = runner.invoke(app, [*detect_args, "--threshold", "0.2"])
    assert detected.exit_code == 0, detected.output
    args = [photo, "--model", mask_model, "--scratch-model", detector]
    auto = ["--scratches", "auto", "--scratch-threshold", 0.2]
    assert _restore(*args, "-o", tmp_path / "auto", *auto).exit_code == 0
    default = ["--scratches", "auto"]
    assert _restore(*args, "-o", tmp_path / "default", *default).exit_code == 0
    result = _restore(*args, "-o", tmp_path / "dir", "--scratches", tmp_path / "masks")
    assert result.exit_code == 0, result.output
    low = read_image(tmp_path / "auto" / "photo.png").rgb
    assert torch.equal(low, read_image(tmp_path / "dir" / "photo.png").rgb)
    assert not torch.equal(low, read_image(tmp_path / "default" / "photo.png").rgb)


def test_scratches_usage_errors(tmp_path: Path, model: str, mask_model: str) -> None:
    photo = _photo(tmp_path)
    result = _restore(photo, "-o", tmp_path / "a", "--model", model, "--scratches", "auto")
    assert result.exit_code == 2 and "no mask input" in _said(result)
    result = _restore(photo, "-o", tmp_path / "b", "--model", mask_model, "--scratches", "nope")
    assert result.exit_code == 2 and "not off, auto" in _said(result)
    threshold = ["--scratch-threshold", 0.3]
    result = _restore(photo, "-o", tmp_path / "t", "--model", mask_model, *threshold)
    assert result.exit_code == 2 and "'--scratch-threshold': a scratch threshold" in _said(result)
    assert "needs scratches 'auto'" in _said(result)
    missing = ["--scratches", "auto", "--scratch-model", tmp_path / "none"]
    result = _restore(photo, "-o", tmp_path / "c", "--model", mask_model, *missing)
    assert result.exit_code == 2 and "scratch-model" in result.output


def test_scratches_folder_without_this_mask_fails_that_file(
    tmp_path: Path, mask_model: str
) -> None:
    photo = _photo(tmp_path / "in")
    (tmp_path / "masks").mkdir()
    result = _restore(
        photo, "-o", tmp_path / "out", "--model", mask_model, "--scratches", tmp_path / "masks"
    )
    assert result.exit_code == 1 and "photo.png does not exist" in result.output


def test_monochrome_modes_on_a_sepia_print(tmp_path: Path, model: str) -> None:
    gen = torch.Generator().manual_seed(0)
    silver = torch.linspace(0.1, 0.9, 64).repeat(48, 1) + 0.03 * torch.randn(48, 64, generator=gen)
    sepia = silver.clamp(0, 1)[None] * torch.tensor([1.0, 0.82, 0.58]).view(3, 1, 1)
    (tmp_path / "in").mkdir()
    to_pil(sepia).save(tmp_path / "in" / "print.png")
    out = {}
    for mode in ("auto", "tone", "gray", "off"):
        result = _restore(
            tmp_path / "in", "-o", tmp_path / mode, "--model", model, "--monochrome", mode
        )
        assert result.exit_code == 0, result.output
        out[mode] = read_image(tmp_path / mode / "print.png").rgb
    source = read_image(tmp_path / "in" / "print.png").rgb
    assert out["auto"].std(dim=0).max() < 1e-6  # neutral gray
    assert torch.equal(out["gray"], out["auto"])  # a print auto is sure of: the same
    assert torch.equal(out["off"], source)  # the identity network's colours
    assert (out["tone"] - source).abs().mean() < 0.01  # the print's own tone back
    result = _restore(tmp_path / "in", "-o", tmp_path / "x", "--model", model, "--monochrome", "no")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_photo_type_picks_the_expert_and_a_missing_expert_is_a_usage_error(
    tmp_path: Path,
) -> None:
    import json

    from tests.pipelines.models import (
        forget_loaded_models,
        save_brightness_router,
        save_offset_model,
    )

    digital = save_offset_model(tmp_path / "digital", -0.2)
    primary = save_identity_model(tmp_path / "print")
    config = json.loads((primary / "config.json").read_text())
    router = save_brightness_router(tmp_path / "router")
    config["extra"].update(experts={"digital": str(digital)}, router=str(router))
    (primary / "config.json").write_text(json.dumps(config))
    (tmp_path / "in").mkdir()
    bright = 0.6 + 0.3 * torch.rand(3, 20, 30, generator=torch.Generator().manual_seed(1))
    to_pil(bright).save(tmp_path / "in" / "photo.png")
    source = read_image(tmp_path / "in" / "photo.png").rgb
    means = {}
    for photo_type in ("auto", "print", "digital"):
        args = ["--model", primary, "--photo-type", photo_type, "--monochrome", "off"]
        result = _restore(tmp_path / "in", "-o", tmp_path / photo_type, *args)
        assert result.exit_code == 0, result.output
        means[photo_type] = float(
            (read_image(tmp_path / photo_type / "photo.png").rgb - source).mean()
        )
    assert abs(means["auto"]) < 0.01 and abs(means["print"]) < 0.01  # bright: a "print"
    assert abs(means["digital"] + 0.2) < 0.01
    old_name = ["--model", primary, "--kind", "digital", "--monochrome", "off"]
    result = _restore(tmp_path / "in", "-o", tmp_path / "alias", *old_name)
    assert result.exit_code == 0 and "--kind is deprecated" in result.output
    alias = read_image(tmp_path / "alias" / "photo.png").rgb
    assert torch.equal(alias, read_image(tmp_path / "digital" / "photo.png").rgb)
    config["extra"]["experts"] = {"digital": str(tmp_path / "gone")}
    (primary / "config.json").write_text(json.dumps(config))
    forget_loaded_models()
    result = _restore(tmp_path / "in", "-o", tmp_path / "x", "--model", primary)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'--photo-type':" in _said(result) and "gone' not found" in _said(result)
    print_only = ["--model", primary, "--photo-type", "print"]
    result = _restore(tmp_path / "in", "-o", tmp_path / "y", *print_only)
    assert result.exit_code == 0, result.output


def test_fusion_option_switches_the_detail_expert(tmp_path: Path) -> None:
    import json

    from tests.pipelines.models import save_random_model

    digital = save_identity_model(tmp_path / "digital")
    primary = save_random_model(tmp_path / "print", seed=4)
    config = json.loads((primary / "config.json").read_text())
    detail = {"expert": "digital", "scale": 0.5, "sigma": 1.0}
    config["extra"].update(experts={"digital": str(digital)}, detail=detail)
    (primary / "config.json").write_text(json.dumps(config))
    (tmp_path / "in").mkdir()
    to_pil(torch.rand(3, 32, 48, generator=torch.Generator().manual_seed(2))).save(
        tmp_path / "in" / "photo.png"
    )
    outs = {}
    for fusion in ("auto", "off"):
        args = ["--model", primary, "--fusion", fusion, "--monochrome", "off"]
        result = _restore(tmp_path / "in", "-o", tmp_path / fusion, *args)
        assert result.exit_code == 0, result.output
        outs[fusion] = read_image(tmp_path / fusion / "photo.png").rgb
    assert outs["auto"].shape == outs["off"].shape == (3, 32, 48)
    assert float((outs["auto"] - outs["off"]).abs().mean()) > 0.01
    result = _restore(tmp_path / "in", "-o", tmp_path / "x", "--model", primary, "--fusion", "mix")
    assert result.exit_code == 2 and "Traceback" not in result.output
