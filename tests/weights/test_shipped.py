"""Every committed model loads strictly, fits the budget, matches SHA256SUMS and runs."""

import pytest
import torch

from daguerre.errors import CheckpointNotFoundError
from daguerre.weights import list_models, load_model, package_dir
from daguerre.weights.backbone import BACKBONE_INSTALL_HINT, find_backbone
from daguerre.weights.checkpoint import BACKBONE_ENCODER, read_config
from daguerre.weights.promote import BUDGET_BYTES, verify

SHIPPED = list_models()


def _skip_without_backbone(name: str) -> None:
    """A model whose encoder is the ImageNet MobileNetV2 (painting mode) loads only with it."""
    if not read_config(package_dir() / name).extra.get(BACKBONE_ENCODER):
        return
    try:
        find_backbone()
    except CheckpointNotFoundError:
        pytest.skip(
            f"{name} takes its encoder from the MobileNetV2 ImageNet checkpoint, which is not "
            f"installed (../shared/weights or `{BACKBONE_INSTALL_HINT}`)"
        )


def test_checksums_match() -> None:
    assert verify() == []


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_and_runs_on_32px(name: str) -> None:
    _skip_without_backbone(name)
    net, cfg = load_model(name)
    assert (package_dir() / name / "MODEL_CARD.md").is_file()
    assert (package_dir() / name / "model.safetensors").stat().st_size <= BUDGET_BYTES
    if cfg.kind == "grade":  # thumbnails of input and output in, colour coefficients out
        thumb, grid = cfg.kwargs["thumb"], cfg.kwargs["grid"]
        with torch.inference_mode():
            out = net(torch.rand(1, 6, thumb, thumb), torch.randn(1, 9))
        assert out.shape == (1, 13, grid, grid) and torch.isfinite(out).all()
        return
    if cfg.kind == "router":  # a thumbnail and statistics in, one "print" logit out
        from daguerre.nn.router import router_inputs

        with torch.inference_mode():
            out = net(*router_inputs(torch.rand(2, 3, 48, 40)))
        assert out.shape == (2,) and torch.isfinite(out).all()
        return
    channels = int(cfg.kwargs.get("in_channels", 3))
    side = max(32, 2 * cfg.pad_multiple)
    with torch.inference_mode():
        out = net(torch.rand(1, channels, side, side))
    assert out.shape[-2:] == (side, side) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", SHIPPED)
def test_experts_and_router_a_shipped_model_names_are_shipped(name: str) -> None:
    cfg = read_config(package_dir() / name)  # the config alone: no weights, no backbone
    named = [*cfg.extra.get("experts", {}).values(), cfg.extra.get("router")]
    for other in filter(None, named):
        assert other in SHIPPED, f"{name} names {other}, which is not shipped"
