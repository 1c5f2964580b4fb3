"""The Restorer: loaded once from options + manifest, its stages run in order, no recursion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from daguerre.pipelines import restore as pipeline
from daguerre.pipelines.restore import (
    RestoreOptions,
    RestoreOptionsError,
    load_restorer,
    restore_tensor,
)
from tests.pipelines.models import (
    save_brightness_router,
    save_identity_model,
    save_offset_grade,
    save_offset_model,
    save_random_model,
)

DETAIL = {"expert": "digital", "scale": 0.5, "sigma": 1.0}


def _with_extra(folder: Path, **extra: object) -> Path:
    config = json.loads((folder / "config.json").read_text())
    config["extra"].update(extra)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A print expert naming a digital expert (also its detail expert) and a router."""
    root = tmp_path_factory.mktemp("composed")
    digital = save_offset_model(root / "digital", -0.1, mask_channel=True)
    router = save_brightness_router(root / "router")
    primary = _with_extra(
        save_random_model(root / "print", seed=2, mask_channel=True),
        experts={"digital": str(digital)}, router=str(router), detail=DETAIL,
    )  # fmt: skip
    return {"print": str(primary), "digital": str(digital), "router": str(router)}


def test_the_shipped_restorer_loads_every_part_once() -> None:
    restorer = load_restorer(RestoreOptions(device="cpu"))
    assert restorer.print_expert.name == "restore"
    assert restorer.digital_expert is not None and restorer.digital_expert.name == "restore-digital"
    assert restorer.router is not None and restorer.router.threshold == -0.5
    assert restorer.detail_expert is restorer.digital_expert  # one network, loaded once
    assert restorer.fusion is not None and restorer.fusion.scale == 0.5
    assert restorer.grade is None and restorer.detect is None
    assert load_restorer(RestoreOptions(device="cpu")) is restorer  # cached
    half = load_restorer(RestoreOptions(device="cpu", strength=0.5))
    assert half is not restorer and half.print_expert is restorer.print_expert


@pytest.mark.parametrize(
    ("photo_type", "fusion", "parts"),
    [
        ("auto", "auto", ("digital", "router", "detail")),
        ("auto", "off", ("digital", "router")),
        ("print", "auto", ("detail",)),
        ("print", "off", ()),
        ("digital", "auto", ("digital",)),
    ],
)
def test_only_the_parts_the_options_use_are_loaded(
    composed: dict[str, str], photo_type: str, fusion: str, parts: tuple[str, ...]
) -> None:
    options = RestoreOptions(model=composed["print"], photo_type=photo_type, fusion=fusion)
    restorer = load_restorer(options)
    loaded = {"digital": restorer.digital_expert, "router": restorer.router,
              "detail": restorer.detail_expert}  # fmt: skip
    assert {name for name, part in loaded.items() if part is not None} == set(parts)


def test_stages_run_in_order_without_recursion(
    composed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for stage in ("route", "run_expert", "fuse", "finish_in_place"):
        original = getattr(pipeline, stage)

        def spy(*args: object, _name: str = stage, _run: object = original, **kw: object) -> object:
            calls.append(_name)
            return _run(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(pipeline, stage, spy)
    monkeypatch.setattr(pipeline, "restore_tensor", None)  # any recursion would fail
    bright = 0.6 + 0.3 * torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    dark = 0.1 * torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(1))
    restorer = load_restorer(RestoreOptions(model=composed["print"], monochrome="off"))
    out = pipeline.run_restorer(restorer, torch.cat([bright, dark]))
    assert out.shape == (2, 3, 24, 32)
    # the print: tone pass + detail pass, fused; the digital photo: one pass
    assert calls == ["route", "fuse", "run_expert", "run_expert", "run_expert", "finish_in_place"]
    torch.testing.assert_close(out[1], (dark[0] - 0.1).clamp(0, 1), atol=1e-5, rtol=0)


def test_the_grade_follows_fusion(composed: dict[str, str], tmp_path: Path) -> None:
    identity = save_identity_model(tmp_path / "identity")
    primary = _with_extra(
        save_identity_model(tmp_path / "print"), experts={"digital": str(identity)},
        detail=DETAIL, grade=str(save_offset_grade(tmp_path / "grade", 0.05)),
    )  # fmt: skip
    rgb = 0.2 + 0.6 * torch.rand(3, 20, 28, generator=torch.Generator().manual_seed(3))
    out = restore_tensor(rgb, RestoreOptions(model=str(primary), monochrome="off"))
    torch.testing.assert_close(out, rgb + 0.05, atol=1e-5, rtol=0)


def _problem(options: RestoreOptions) -> RestoreOptionsError:
    with pytest.raises(RestoreOptionsError) as caught:
        load_restorer(options)
    return caught.value


def test_each_problem_names_its_option(composed: dict[str, str], tmp_path: Path) -> None:
    maskless = str(save_identity_model(tmp_path / "maskless"))
    gone = str(tmp_path / "gone")
    cases = {
        "device": RestoreOptions(device="tpu"),
        "model": RestoreOptions(model=gone),
        "grade": RestoreOptions(model=maskless, grade=gone),
        "scratches": RestoreOptions(model=maskless, scratches="auto"),
        "scratch_model": RestoreOptions(
            model=composed["print"], scratches="auto", scratch_model=gone
        ),  # fmt: skip
    }
    for option, options in cases.items():
        problem = _problem(options)
        assert problem.option == option and isinstance(problem, ValueError), option
    assert "not off, auto" in str(_problem(RestoreOptions(model=composed["print"], scratches=gone)))


def test_a_maskless_digital_expert_cannot_inpaint(tmp_path: Path) -> None:
    digital = save_identity_model(tmp_path / "digital")  # no mask input
    primary = _with_extra(save_identity_model(tmp_path / "print", mask_channel=True),
                          experts={"digital": str(digital)})  # fmt: skip
    mask = tmp_path / "mask.png"
    mask.write_bytes(b"")  # exists: the mask file itself is read per photo
    options = RestoreOptions(model=str(primary), scratches=str(mask))
    assert "digital' has no mask input" in str(_problem(options))
    load_restorer(RestoreOptions(model=str(primary), scratches=str(mask), photo_type="print"))


def test_a_malformed_manifest_is_a_model_problem(tmp_path: Path) -> None:
    model = _with_extra(save_identity_model(tmp_path / "model"), experts={"film": "x"})
    problem = _problem(RestoreOptions(model=str(model)))
    assert problem.option == "model" and "extra.experts.film" in str(problem)
