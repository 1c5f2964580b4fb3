import dataclasses

import torch

from daguerre.degrade.jpeg import JPEG
from tests.degrade.contract import DegradationContract, make_image


class TestJPEG(DegradationContract):
    build = staticmethod(lambda: JPEG())
    batch_atol = 0.0
    zero_params = staticmethod(lambda p: dataclasses.replace(p, quality=p.quality * 0 + 101))


def test_lower_quality_is_worse() -> None:
    img = make_image((1, 3, 64, 64))
    errors = []
    for quality in (10, 50, 95):
        op = JPEG(quality=(quality, quality))
        out = op.apply(img, op.sample(torch.Generator(), 1))
        errors.append(float((out - img).abs().mean()))
    assert errors[0] > errors[1] > errors[2] > 0


def test_output_is_8bit_valued() -> None:
    op = JPEG(quality=(70, 70))
    out = op.apply(make_image((1, 3, 16, 16)), op.sample(torch.Generator(), 1))
    torch.testing.assert_close(out * 255, (out * 255).round(), atol=1e-4, rtol=0)


def test_quality_range_inclusive(gen: torch.Generator) -> None:
    quality = JPEG(quality=(40, 100)).sample(gen, 2000).quality
    assert quality.min() == 40 and quality.max() == 100
