import pytest
import torch

from daguerre.nn.factory import build_generator
from daguerre.nn.router import CANONICAL_SIDE, ROUTER_STATS, ROUTER_THUMB, RouterNet, router_inputs


@pytest.mark.parametrize("size", [(1, 1), (1, 300), (37, 53), (700, 1300)])
def test_inputs_have_fixed_shapes_at_any_size(size: tuple[int, int]) -> None:
    image = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    thumbs, stats = router_inputs(image)
    assert thumbs.shape == (2, 3, ROUTER_THUMB, ROUTER_THUMB)
    assert stats.shape == (2, ROUTER_STATS)
    assert torch.isfinite(stats).all() and thumbs.min() >= 0 and thumbs.max() <= 1


def test_statistics_see_noise_and_tone() -> None:
    flat = torch.full((1, 3, 200, 200), 0.5)
    noisy = flat + 0.1 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(1))
    warm = flat * torch.tensor([1.2, 1.0, 0.7]).view(1, 3, 1, 1)
    (_, s_flat), (_, s_noisy), (_, s_warm) = (
        router_inputs(x.clamp(0, 1)) for x in (flat, noisy, warm)
    )
    detail = slice(ROUTER_STATS - 6, ROUTER_STATS)
    assert (s_noisy[0, detail] > s_flat[0, detail] + 3).all()  # log high-pass energy
    assert s_warm[0, 0] > s_warm[0, 2] + 0.2  # mean red above mean blue


def test_big_scans_are_measured_at_the_canonical_scale() -> None:
    gen = torch.Generator().manual_seed(2)
    small = torch.rand(1, 3, CANONICAL_SIDE // 2, CANONICAL_SIDE, generator=gen)
    big = small.repeat_interleave(4, -1).repeat_interleave(4, -2)  # the same photo, 4x bigger
    _, s_small = router_inputs(small)
    _, s_big = router_inputs(big)
    assert torch.allclose(s_small, s_big, atol=0.05)


def test_net_gives_one_logit_per_photo_and_is_registered() -> None:
    net = build_generator("router", {"width": 4})
    assert isinstance(net, RouterNet)
    thumbs, stats = router_inputs(torch.rand(3, 3, 40, 50))
    logits = net(thumbs, stats)
    assert logits.shape == (3,)
    logits.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
