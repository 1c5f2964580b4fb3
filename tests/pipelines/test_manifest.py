"""Typed manifests: every shipped config parses, anything unknown or malformed is refused."""

from __future__ import annotations

from typing import Any

import pytest

from daguerre.pipelines.fusion import FusionConfig
from daguerre.pipelines.manifest import (
    DetectorManifest,
    ManifestError,
    RestorerManifest,
    RouterManifest,
    detector_manifest,
    restorer_manifest,
    router_manifest,
)
from daguerre.weights import model_dir
from daguerre.weights.checkpoint import read_config


def _shipped_extra(name: str) -> dict[str, Any]:
    return read_config(model_dir(name)).extra


def test_the_shipped_restorer_manifest() -> None:
    manifest = restorer_manifest("restore", _shipped_extra("restore"))
    assert manifest == RestorerManifest(
        mask_channel=True, digital="restore-digital", router="router",
        detail=FusionConfig("digital", 0.5, 1.0), grade=None, inpainting="restore-inpaint",
    )  # fmt: skip
    assert manifest.detail_model == "restore-digital"
    digital = restorer_manifest("restore-digital", _shipped_extra("restore-digital"))
    assert digital == RestorerManifest(mask_channel=True)
    inpaint = restorer_manifest("restore-inpaint", _shipped_extra("restore-inpaint"))
    assert inpaint == RestorerManifest(
        mask_channel=True, digital="restore-digital-inpaint", router="router",
        detail=FusionConfig("digital", 0.5, 1.0), prefill=True,
    )  # fmt: skip
    fill = restorer_manifest("restore-digital-inpaint", _shipped_extra("restore-digital-inpaint"))
    assert fill == RestorerManifest(mask_channel=True, prefill=True)


def test_the_shipped_router_and_detector_manifests() -> None:
    assert router_manifest("router", _shipped_extra("router")) == RouterManifest(threshold=-0.5)
    assert detector_manifest("scratch", _shipped_extra("scratch")) == DetectorManifest(
        threshold=0.65, restore_threshold=0.995, scales=(1.0, 1.5)
    )


def test_a_prefill_expert_says_so() -> None:
    manifest = restorer_manifest("m", {"mask_channel": True, "prefill": True})
    assert manifest == RestorerManifest(mask_channel=True, prefill=True)


def test_an_inpainting_restorer_is_named() -> None:
    manifest = restorer_manifest("m", {"mask_channel": True, "inpainting": "restore-inpaint"})
    assert manifest == RestorerManifest(mask_channel=True, inpainting="restore-inpaint")


def test_training_records_are_accepted_and_ignored() -> None:
    cyclegan = {"mode": "cyclegan-reverse", "a": ["x"], "b": ["y"]}
    assert restorer_manifest("m", cyclegan) == RestorerManifest()
    assert router_manifest("k", {"step": 9, "labels": {}, "val_bce": 0.3}) == RouterManifest()
    assert detector_manifest("d", {"threshold": 0.4}).restore_threshold == 0.4  # falls back


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"mask_chanel": True}, "extra.mask_chanel"),
        ({"mask_channel": "yes"}, "extra.mask_channel"),
        ({"mask_channel": True, "prefill": 1}, "extra.prefill"),
        ({"prefill": True}, "extra.prefill"),
        ({"mask_channel": True, "inpainting": ""}, "extra.inpainting"),
        ({"inpainting": "restore-inpaint"}, "extra.inpainting"),
        ({"experts": ["restore-digital"]}, "extra.experts"),
        ({"experts": {"film": "x"}}, "extra.experts.film"),
        ({"experts": {"digital": ""}}, "extra.experts.digital"),
        ({"router": "router"}, "extra.router"),
        ({"grade": 3}, "extra.grade"),
        ({"experts": {"digital": "d"}, "detail": {"expert": "film"}}, "extra.detail.expert"),
        (
            {"experts": {"digital": "d"}, "detail": {"expert": "digital", "blur": 1}},
            "extra.detail.blur",
        ),
    ],
)
def test_a_bad_restorer_manifest_names_model_and_key(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(ManifestError, match=f"my-model: config.json {key}") as caught:
        restorer_manifest("my-model", extra)
    assert caught.value.model == "my-model" and key == f"extra.{caught.value.key}"


def test_an_unknown_key_lists_the_keys_it_could_have_been() -> None:
    with pytest.raises(ManifestError, match="expected one of detail, experts, grade"):
        restorer_manifest("m", {"threshold": 0.5})


@pytest.mark.parametrize(
    "extra", [{"threshold": "high"}, {"threshold": 1.5}, {"restore_threshold": -1}, {"x": 1}]
)
def test_a_bad_detector_manifest_is_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(ManifestError, match="config.json extra"):
        detector_manifest("d", extra)


def test_a_bad_router_threshold_is_refused() -> None:
    with pytest.raises(ManifestError, match="extra.threshold"):
        router_manifest("k", {"threshold": "low"})
