import json
from pathlib import Path

import pytest
import torch

from daguerre.degrade.chain import apply_to_target, describe, replay, run
from daguerre.degrade.presets import (
    PRESET_DESCRIPTIONS,
    PRESETS,
    TRAINING_MIXES,
    Op,
    build_preset,
    defects,
    preset_names,
    scratches_only,
)
from daguerre.errors import UnknownNameError
from tests.degrade.contract import make_image

USER_PRESETS = ["aged", "heavy", "colorfade", "scratches-only", "unstructured", "realesrgan"]
MIXES = [
    "restore-mix",
    "restore-mix2",
    "restore-digital",
    "defects",
    "detector-mix",
    "restore-inpaint",
    "restore-digital-inpaint",
]
NAMES = USER_PRESETS + MIXES


def test_registry_lists_the_user_presets_with_a_description() -> None:
    assert preset_names() == USER_PRESETS
    assert list(PRESETS) == USER_PRESETS
    assert set(PRESET_DESCRIPTIONS) == set(USER_PRESETS)
    assert all(len(text) < 100 and "\n" not in text for text in PRESET_DESCRIPTIONS.values())


def test_training_mixes_resolve_by_name_but_are_not_listed() -> None:
    assert list(TRAINING_MIXES) == MIXES
    assert preset_names(training=True) == NAMES
    assert not set(MIXES) & set(preset_names())


def test_every_shipped_model_names_a_preset_that_resolves() -> None:
    import daguerre.weights

    configs = Path(daguerre.weights.__file__).parent.rglob("config.json")
    named = {json.loads(path.read_text())["degradation_preset"] for path in configs}
    assert {"restore-mix2", "restore-digital", "detector-mix"} <= named
    for name in named - {""}:
        build_preset(name)  # raises UnknownNameError if a shipped model's preset left the code


@pytest.mark.parametrize("name", NAMES)
def test_preset_runs_and_is_deterministic(name: str) -> None:
    img = make_image((2, 3, 64, 64))
    op = build_preset(name)
    first = run(op, img, torch.Generator().manual_seed(0))
    second = run(build_preset(name), img, torch.Generator().manual_seed(0))
    assert first.image.shape == img.shape and first.image.dtype == torch.float32
    assert first.mask.shape == (2, 1, 64, 64)
    assert 0 <= float(first.image.min()) and float(first.image.max()) <= 1
    assert 0 <= float(first.mask.min()) and float(first.mask.max()) <= 1
    assert torch.equal(first.image, second.image) and torch.equal(first.mask, second.mask)
    again = replay(op, img, first.params)
    assert torch.equal(first.image, again.image)
    json.dumps(describe(first.params))
    target = apply_to_target(op, img, first.params)
    assert target.shape == img.shape
    other = run(op, img, torch.Generator().manual_seed(1)).image
    assert not torch.equal(other, first.image)
    assert max(float((x - img).abs().mean()) for x in (first.image, other)) > 0.005


def test_unstructured_follows_bopbtl_structure() -> None:
    op = build_preset("unstructured")
    shuffle, gray = op.steps
    assert [child.p for child in shuffle.ops] == [0.7, 0.7, 0.7, 0.7]
    assert gray.p == 0.1
    noise = shuffle.ops[1].op
    assert [type(o).__name__ for o in noise.ops] == ["GaussianNoise", "SpeckleNoise", "SaltPepper"]


def test_scratches_only_marks_every_image() -> None:
    img = make_image((6, 3, 64, 64))
    result = run(build_preset("scratches-only"), img, torch.Generator().manual_seed(0))
    assert (result.mask.flatten(1).amax(dim=1) > 0).all()


def test_unknown_preset_lists_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        build_preset("agedd")
    message = str(info.value)
    assert "agedd" in message and all(name in message for name in NAMES)


def test_restore_mix2_leaves_some_photos_untouched() -> None:
    img = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    result = run(build_preset("restore-mix2"), img, torch.Generator().manual_seed(1))
    same = [bool(torch.equal(result.image[i], img[i])) for i in range(64)]
    assert 1 <= sum(same) <= 16  # ~8 % identity samples (plus none of the others)
    assert not bool(result.mask[torch.tensor(same)].any())


def test_restore_digital_keeps_tone_and_leaves_some_photos_untouched() -> None:
    img = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.6 + 0.2
    result = run(build_preset("restore-digital"), img, torch.Generator().manual_seed(2))
    same = [bool(torch.equal(result.image[i], img[i])) for i in range(64)]
    assert 1 <= sum(same) <= 16  # ~8 % undamaged samples
    # digital damage only: no fading or toning, so each photo's mean colour barely moves
    assert (result.image.mean((-2, -1)) - img.mean((-2, -1))).abs().median() < 0.03


def _dark_share(preset: Op, seed: int) -> float:
    """Share of the damaged pixels of mid-gray photos that the damage made darker."""
    img = torch.full((12, 3, 64, 64), 0.5)
    result = run(preset, img, torch.Generator().manual_seed(seed))
    damaged = result.mask[:, 0] > 0.25
    darker = (result.image - img).mean(1) < -0.05
    return float((darker & damaged).sum() / damaged.sum().clamp_min(1))


def test_scratches_only_polarity_follows_bright() -> None:
    assert _dark_share(scratches_only(bright=1.0), 3) < 0.1  # a dust speck may be dark
    assert _dark_share(scratches_only(bright=0.0), 3) > 0.5  # dust and creases stay light


def test_defects_craquelure_adds_nets_and_keeps_the_rest_of_the_damage() -> None:
    """The net is drawn after the other defects, so every mark they made is still there."""
    img = make_image((6, 3, 64, 64), seed=2)
    plain = run(defects(), img, torch.Generator().manual_seed(7))
    netted = run(defects(craquelure=1.0), img, torch.Generator().manual_seed(7))
    assert (netted.mask >= plain.mask - 1e-6).all()
    added = (netted.mask > 0.25).sum((1, 2, 3)) - (plain.mask > 0.25).sum((1, 2, 3))
    assert (added > 0).sum() >= 5  # a net on (nearly) every print; a tiny patch may miss


def test_defects_flaking_adds_flakes_and_keeps_the_rest_of_the_damage() -> None:
    img = make_image((6, 3, 64, 64), seed=2)
    plain = run(defects(craquelure=1.0), img, torch.Generator().manual_seed(7))
    flaked = run(defects(craquelure=1.0, flaking=1.0), img, torch.Generator().manual_seed(7))
    assert (flaked.mask >= plain.mask - 1e-6).all()
    added = (flaked.mask > 0.25).sum((1, 2, 3)) - (plain.mask > 0.25).sum((1, 2, 3))
    assert (added > 0).sum() >= 5


def test_degrade_help_names_every_user_preset() -> None:
    """``daguerre degrade --preset`` help is a static string; it must follow ``PRESETS``."""
    from daguerre.cli.degrade_cmd import PRESET_HELP

    named = PRESET_HELP.split(":", 1)[1].split("(")[0].replace(" or ", ", ")
    assert [name.strip() for name in named.split(",")] == USER_PRESETS
