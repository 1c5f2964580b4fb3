import pytest
import torch

from daguerre.nn.generators.unet import UNetGenerator
from tests.nn.contract import ModuleContract

KW = {"base_channels": 8, "depth": 3, "max_channels": 32, "bottleneck_blocks": 1}


class TestUNetGenerator(ModuleContract):
    build = staticmethod(lambda: UNetGenerator(**KW))
    arch = "unet"
    kwargs = KW


class TestUNetWithMaskChannel(ModuleContract):
    build = staticmethod(lambda: UNetGenerator(in_channels=4, **KW))
    input_shape = (2, 4, 32, 32)


def test_eval_output_is_clamped_to_unit_range() -> None:
    net = UNetGenerator(**KW).eval()
    out = net(torch.rand(1, 3, 32, 32) * 3 - 1)
    assert out.min() >= 0 and out.max() <= 1


def test_residual_zero_head_is_identity() -> None:
    net = UNetGenerator(**KW).eval()
    torch.nn.init.zeros_(net.head.weight)
    torch.nn.init.zeros_(net.head.bias)
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(net(x), x, atol=1e-6)


def test_size_not_multiple_of_pad_raises() -> None:
    net = UNetGenerator(**KW).eval()
    with pytest.raises(RuntimeError):
        net(torch.rand(1, 3, 30, 30))
