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


class TestUNetWithLevelBlocks(ModuleContract):
    build = staticmethod(lambda: UNetGenerator(level_blocks=(2, 1), **KW))
    arch = "unet"
    kwargs = {**KW, "level_blocks": [2, 1]}


def test_level_blocks_start_as_identity_and_keep_the_old_keys() -> None:
    torch.manual_seed(0)
    old = UNetGenerator(**KW).eval()
    grown = UNetGenerator(level_blocks=(2, 1), **KW).eval()
    state = old.state_dict()
    assert set(state) < set(grown.state_dict())  # only new keys, all under refine.
    assert all(k.startswith("refine.") for k in set(grown.state_dict()) - set(state))
    grown.load_state_dict(grown.state_dict() | state)
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(grown(x), old(x))
    assert len(grown.refine[-1]) == 2 and len(grown.refine[-2]) == 1  # full res is last
    with torch.no_grad():  # and the new blocks are live once they move
        grown.refine[-1][0].conv2.bias.fill_(0.1)
    assert not torch.allclose(grown(x), old(x))


def test_level_blocks_are_checked() -> None:
    with pytest.raises(ValueError, match="level_blocks"):
        UNetGenerator(level_blocks=(1, 1, 1, 1), **KW)
