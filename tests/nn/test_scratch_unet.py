import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from daguerre.nn.factory import build_generator
from daguerre.nn.scratch_unet import ScratchUNet
from tests.nn.contract import ModuleContract

KW = {"base_channels": 4, "depth": 2, "max_channels": 16}


class TestScratchUNet(ModuleContract):
    build = staticmethod(lambda: ScratchUNet(**KW))
    arch = "scratch_unet"
    kwargs = KW
    kind = "scratch"
    output_shape = (2, 1, 32, 32)


def test_default_network_fits_the_cpu_budget() -> None:
    net = ScratchUNet()
    with FlopCounterMode(display=False) as counter:
        net(torch.rand(1, 3, 64, 64))
    gflop_per_megapixel = counter.get_total_flops() / (64 * 64) * 1e6 / 1e9
    assert 10 <= gflop_per_megapixel <= 20
    assert sum(p.numel() for p in net.parameters()) < 1_000_000


def test_outputs_are_unbounded_logits_with_a_rare_positive_prior() -> None:
    torch.manual_seed(0)
    logits = ScratchUNet(**KW).eval()(torch.rand(2, 3, 32, 32))
    assert logits.sigmoid().mean() < 0.2  # initial bias: damage is rare
    assert logits.min() < 0  # logits, not probabilities


def test_registered_in_factory() -> None:
    assert isinstance(build_generator("scratch_unet", KW), ScratchUNet)


def test_size_not_multiple_of_pad_raises() -> None:
    with pytest.raises(RuntimeError):
        ScratchUNet(**KW).eval()(torch.rand(1, 3, 30, 30))


def test_level_blocks_start_as_the_identity_and_then_learn() -> None:
    torch.manual_seed(0)
    plain = ScratchUNet(**KW).eval()
    deep = ScratchUNet(**KW, level_blocks=2).eval()
    missing = deep.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("level.") for k in missing)
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(deep(x), plain(x))  # added blocks change nothing yet
    deep.train()
    deep(x).mean().backward()
    grads = [p.grad for n, p in deep.named_parameters() if n.startswith("level.")]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)  # but they can learn


def test_level_blocks_cost_and_bounds() -> None:
    def gflop(net: ScratchUNet) -> float:
        with FlopCounterMode(display=False) as counter:
            net(torch.rand(1, 3, 64, 64))
        return counter.get_total_flops() / 1e9

    assert gflop(ScratchUNet(**KW, level_blocks=2)) > gflop(ScratchUNet(**KW))
    with pytest.raises(AssertionError, match="level_blocks"):
        ScratchUNet(**KW, level_blocks=3)
