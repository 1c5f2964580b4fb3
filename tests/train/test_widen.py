import pytest
import torch

from daguerre.nn.scratch_unet import ScratchUNet
from daguerre.train.widen import channel_map, scratch_level_widths, widen_scratch_state

SMALL = {"base_channels": 4, "depth": 3, "max_channels": 16, "bottleneck_blocks": 2}
WIDE = {**SMALL, "base_channels": 7, "max_channels": 24}


def _trained_like(kwargs: dict[str, int], seed: int) -> ScratchUNet:
    """A network with random (not freshly initialised) weights and biases everywhere."""
    torch.manual_seed(seed)
    net = ScratchUNet(**kwargs).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.2)
    return net


def _widen(noise: float, seed: int = 0) -> tuple[ScratchUNet, ScratchUNet]:
    small = _trained_like(SMALL, 1)
    wide = ScratchUNet(**WIDE).eval()
    old, new = scratch_level_widths(SMALL), scratch_level_widths(WIDE)
    gen = torch.Generator().manual_seed(seed)
    wide.load_state_dict(widen_scratch_state(small.state_dict(), old, new, gen, noise=noise))
    return small, wide


def test_level_widths_follow_the_network() -> None:
    net = ScratchUNet(**WIDE)
    assert scratch_level_widths(WIDE) == [net.stem[0].conv.out_channels] + [
        d.conv.out_channels for d in net.down
    ]


def test_wider_network_computes_the_same_logits() -> None:
    small, wide = _widen(noise=0.0)
    x = torch.rand(2, 3, 40, 48, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(wide(x), small(x), atol=1e-4)
    assert sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in small.parameters())


def test_noise_breaks_the_symmetry_of_copies_but_keeps_the_function_close() -> None:
    small, exact = _widen(noise=0.0)
    _, noisy = _widen(noise=0.01)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        change = (noisy(x) - small(x)).abs().max()
        assert 0 < change < 0.1 * small(x).abs().max()
    old_width = scratch_level_widths(SMALL)[0]
    # the first channels are the originals, untouched; the copies moved
    assert torch.equal(noisy.stem[0].conv.weight[:old_width], exact.stem[0].conv.weight[:old_width])
    assert not torch.equal(
        noisy.stem[0].conv.weight[old_width:], exact.stem[0].conv.weight[old_width:]
    )


def test_channel_map_keeps_the_originals_first() -> None:
    mapping = channel_map(3, 8, torch.Generator().manual_seed(0))
    assert mapping[:3].tolist() == [0, 1, 2]
    assert mapping.min() >= 0 and mapping.max() < 3 and len(mapping) == 8


def test_shrinking_or_changing_depth_is_refused() -> None:
    state = ScratchUNet(**SMALL).state_dict()
    gen = torch.Generator().manual_seed(0)
    old = scratch_level_widths(SMALL)
    with pytest.raises(ValueError, match="cannot widen"):
        widen_scratch_state(state, old, [2, 8, 16, 16], gen)
    with pytest.raises(ValueError, match="depth differs"):
        widen_scratch_state(state, old, old[:-1], gen)


def test_a_state_dict_with_foreign_layers_is_refused() -> None:
    state = {**ScratchUNet(**SMALL).state_dict(), "extra.weight": torch.zeros(1)}
    old = scratch_level_widths(SMALL)
    with pytest.raises(ValueError, match="unknown layers"):
        widen_scratch_state(state, old, old, torch.Generator().manual_seed(0))
