import json
from pathlib import Path

import pytest
import torch

from daguerre.pipelines.restore import (
    RestoreOptions,
    RestoreOptionsError,
    expert_names,
    load_restorer,
    photo_is_print,
    restore_tensor,
)
from tests.pipelines.models import (
    forget_loaded_models,
    save_brightness_router,
    save_identity_model,
    save_offset_grade,
    save_offset_model,
)

DIGITAL = -0.1  # the digital expert's signature: it darkens by 0.1


@pytest.fixture(scope="module")
def experts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A print expert (identity) naming a digital expert (-0.1) and a brightness router."""
    root = tmp_path_factory.mktemp("experts")
    digital = save_offset_model(root / "digital", DIGITAL)
    router = save_brightness_router(root / "router")
    primary = save_identity_model(root / "print")
    config = json.loads((primary / "config.json").read_text())
    config["extra"].update(experts={"digital": str(digital)}, router=str(router))
    (primary / "config.json").write_text(json.dumps(config))
    return {"print": str(primary), "digital": str(digital), "router": str(router)}


def _photo(level: float, seed: int = 0) -> torch.Tensor:
    noise = torch.rand(3, 30, 41, generator=torch.Generator().manual_seed(seed)) * 0.2
    return (level + noise).clamp(0.0, 1.0)


def test_router_reads_the_photo(experts: dict[str, str]) -> None:
    flags = photo_is_print(torch.stack([_photo(0.7), _photo(0.1)]), experts["router"])
    assert flags.tolist() == [True, False]


@pytest.mark.parametrize(("level", "expected"), [(0.7, 0.0), (0.1, DIGITAL)])
def test_auto_picks_the_expert_the_router_chooses(
    experts: dict[str, str], level: float, expected: float
) -> None:
    rgb = _photo(level)
    out = restore_tensor(rgb, RestoreOptions(model=experts["print"], monochrome="off"))
    assert torch.allclose(out, (rgb + expected).clamp(0, 1), atol=1e-5)


@pytest.mark.parametrize(("photo_type", "expected"), [("print", 0.0), ("digital", DIGITAL)])
def test_photo_type_forces_an_expert(
    experts: dict[str, str], photo_type: str, expected: float
) -> None:
    bright = _photo(0.7)  # the router would call it a print
    options = RestoreOptions(model=experts["print"], photo_type=photo_type, monochrome="off")
    out = restore_tensor(bright, options)
    assert torch.allclose(out, (bright + expected).clamp(0, 1), atol=1e-5)


def test_a_mixed_batch_is_split_between_experts(experts: dict[str, str]) -> None:
    batch = torch.stack([_photo(0.7, 1), _photo(0.1, 2), _photo(0.8, 3)])
    options = RestoreOptions(model=experts["print"], monochrome="off", strength=0.5)
    out = restore_tensor(batch, options)
    offsets = torch.tensor([0.0, DIGITAL, 0.0]).view(3, 1, 1, 1)
    full = (batch + offsets).clamp(0, 1)
    assert torch.allclose(out, batch + 0.5 * (full - batch), atol=1e-5)


def test_a_model_without_experts_restores_every_photo_itself(experts: dict[str, str]) -> None:
    dark = _photo(0.1)
    for photo_type in ("auto", "digital"):
        options = RestoreOptions(model=experts["digital"], photo_type=photo_type, monochrome="off")
        expected = (dark + DIGITAL).clamp(0, 1)
        assert torch.allclose(restore_tensor(dark, options), expected, atol=1e-5)
    restorer = load_restorer(RestoreOptions(model=experts["digital"]))
    assert expert_names(restorer, dark[None]) == [experts["digital"]]
    assert restorer.digital_expert is None and restorer.router is None


def test_unknown_photo_type_is_refused() -> None:
    with pytest.raises(RestoreOptionsError, match="photo_type must be one of") as caught:
        RestoreOptions(photo_type="film")
    assert caught.value.option == "photo_type" and isinstance(caught.value, ValueError)


def test_kind_is_a_deprecated_name_of_photo_type() -> None:
    with pytest.warns(DeprecationWarning, match="photo_type"):
        assert RestoreOptions(kind="digital") == RestoreOptions(photo_type="digital")


def test_missing_expert_or_wrong_router_fails_early(
    experts: dict[str, str], tmp_path: Path
) -> None:
    model = save_identity_model(tmp_path / "model")
    config = json.loads((model / "config.json").read_text())
    config["extra"].update(experts={"digital": str(tmp_path / "gone")}, router=experts["router"])
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(RestoreOptionsError, match="not found") as caught:
        load_restorer(RestoreOptions(model=str(model)))
    assert caught.value.option == "photo_type"
    load_restorer(RestoreOptions(model=str(model), photo_type="print"))  # not needed: fine
    config["extra"].update(experts={"digital": experts["digital"]}, router=experts["digital"])
    (model / "config.json").write_text(json.dumps(config))
    forget_loaded_models()
    with pytest.raises(RestoreOptionsError, match="not a photo-type router") as caught:
        load_restorer(RestoreOptions(model=str(model)))
    assert caught.value.option == "photo_type"
    restorer = load_restorer(RestoreOptions(model=str(model), photo_type="digital"))
    assert restorer.router is None and restorer.digital_expert is not None  # no router needed


def test_router_threshold_moves_doubtful_photos_to_the_digital_expert(tmp_path: Path) -> None:
    router = save_brightness_router(tmp_path / "router")
    photos = torch.stack([_photo(0.55, 1), _photo(0.9, 2)])  # logits ~1.5 and ~5
    assert photo_is_print(photos, str(router)).tolist() == [True, True]
    config = json.loads((router / "config.json").read_text())
    config["extra"]["threshold"] = 3.0
    (router / "config.json").write_text(json.dumps(config))
    forget_loaded_models()
    assert photo_is_print(photos, str(router)).tolist() == [False, True]


def test_the_grade_of_the_model_asked_for_reaches_every_expert(
    experts: dict[str, str], tmp_path: Path
) -> None:
    grade = save_offset_grade(tmp_path / "grade", 0.05)
    primary = Path(experts["print"])
    graded = tmp_path / "graded"
    graded.mkdir()
    (graded / "model.safetensors").write_bytes((primary / "model.safetensors").read_bytes())
    config = json.loads((primary / "config.json").read_text())
    config["extra"]["grade"] = str(grade)
    (graded / "config.json").write_text(json.dumps(config))
    for level, expert in ((0.7, 0.0), (0.1, DIGITAL)):  # the router picks print, then digital
        rgb = _photo(level)
        out = restore_tensor(rgb, RestoreOptions(model=str(graded), monochrome="off"))
        assert torch.allclose(out, (rgb + expert + 0.05).clamp(0, 1), atol=1e-5)
