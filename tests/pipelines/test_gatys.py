"""The Gatys reference of ``scripts/eval_style.py`` (``scripts/gatys_reference.py``).

It is a script-side helper, not a package module, so it is loaded from its file.
"""

import doctest
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from daguerre.metrics.features import gram_distance
from daguerre.nn.mobilenet import MobileNetV2Features


def _load_reference() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "gatys_reference.py"
    spec = importlib.util.spec_from_file_location("gatys_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gatys_reference"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


reference = _load_reference()
GatysOptions = reference.GatysOptions
gatys_transfer = reference.gatys_transfer


@pytest.fixture(scope="module")
def net() -> MobileNetV2Features:
    torch.manual_seed(0)
    return MobileNetV2Features(frozen=True).eval()


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    content = torch.rand(3, 40, 56, generator=gen) * 0.5 + 0.25
    stripes = (torch.arange(48) // 4 % 2).float()
    style = torch.stack(
        [stripes.expand(48, 48), stripes.expand(48, 48).T, 1 - stripes.expand(48, 48)]
    )
    return content, style


def test_transfer_moves_the_gram_statistics_towards_the_painting(net: MobileNetV2Features) -> None:
    content, style = _images()
    result = gatys_transfer(content, style, net, GatysOptions(steps=40, lr=0.03))
    assert result.image.shape == content.shape and result.image.dtype == torch.float32
    assert 0.0 <= float(result.image.min()) and float(result.image.max()) <= 1.0
    assert result.losses[-1] < 0.5 * result.losses[0]
    with torch.no_grad():
        before = float(gram_distance(content, style, net))
        after = float(gram_distance(result.image, style, net))
    assert after < 0.5 * before


def test_zero_steps_returns_the_content_and_is_deterministic(net: MobileNetV2Features) -> None:
    content, style = _images()
    assert torch.equal(gatys_transfer(content, style, net, GatysOptions(steps=0)).image, content)
    first = gatys_transfer(content, style, net, GatysOptions(steps=3)).image
    assert torch.equal(first, gatys_transfer(content, style, net, GatysOptions(steps=3)).image)


def test_several_style_images_average_their_grams(net: MobileNetV2Features) -> None:
    content, style = _images()
    opts = GatysOptions(steps=3)
    single = gatys_transfer(content, style, net, opts).image
    assert torch.equal(gatys_transfer(content, [style, style], net, opts).image, single)
    other = style.flip(0)  # a different palette
    mixed = gatys_transfer(content, [style, other], net, opts).image
    assert not torch.allclose(mixed, single)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="lr"):
        GatysOptions(lr=0.0)


def test_docstring_example_runs() -> None:
    """``scripts/`` is not collected by ``--doctest-modules``, so its example runs here."""
    failed, attempted = doctest.testmod(reference, verbose=False)
    assert attempted > 0 and failed == 0
