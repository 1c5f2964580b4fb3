import pytest
import torch
import torch.nn.functional as F
from torch import nn

from daguerre.infer.multiscale import ScaleEnsemble, check_scales, is_identity


class _HeightMap(nn.Module):
    """Outputs the (padded) input height everywhere; insists on multiples of ``multiple``."""

    def __init__(self, multiple: int) -> None:
        super().__init__()
        self.multiple = multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        assert h % self.multiple == 0 and w % self.multiple == 0, (h, w)
        return torch.full((x.shape[0], 1, h, w), float(h))


def _smooth(h: int, w: int) -> torch.Tensor:
    """A low-frequency [0, 1] image: resizing it up and down changes it very little."""
    coarse = torch.rand(1, 3, 3, 3, generator=torch.Generator().manual_seed(0))
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)


def test_check_scales() -> None:
    assert check_scales([1, 1.5]) == (1.0, 1.5)
    for bad, message in [([], "at least one"), ([1, 1], "distinct"), ([0.1], r"\[0.25, 4")]:
        with pytest.raises(ValueError, match=message):
            check_scales(bad)
    assert is_identity([1]) and not is_identity([1, 1.5]) and not is_identity([1.5])


def test_scale_one_is_the_bare_network() -> None:
    net = nn.Conv2d(3, 2, 3, padding=1)
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        assert torch.equal(ScaleEnsemble(net, [1.0])(x), net(x))


def test_outputs_are_averaged_over_padded_scales() -> None:
    # 10 rows: scale 1 pads to 12 (multiple 4), scale 1.5 -> 15 rows pads to 16: mean 14
    out = ScaleEnsemble(_HeightMap(4), [1.0, 1.5], pad_multiple=4)(torch.rand(2, 3, 10, 7))
    assert out.shape == (2, 1, 10, 7)
    assert torch.allclose(out, torch.full_like(out, 14.0))


@pytest.mark.parametrize("size", [(41, 53), (18, 64), (64, 64)])
def test_a_pointwise_network_barely_changes(size: tuple[int, int]) -> None:
    net = nn.Conv2d(3, 1, 1)
    with torch.no_grad():
        net.weight.fill_(1 / 3)  # the channel mean, in [0, 1]
        net.bias.zero_()
        x = _smooth(*size)
        single = net(x)
        multi = ScaleEnsemble(net, [0.5, 1.0, 1.5, 2.0], pad_multiple=8)(x)
    assert multi.shape == single.shape
    assert (multi - single).abs().max() < 0.01  # resampling error only (measured <= 0.008)


def test_enlarged_inputs_stay_in_range() -> None:
    seen: list[torch.Tensor] = []

    def spy(x: torch.Tensor) -> torch.Tensor:
        seen.append(x)
        return x[:, :1]

    x = (torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(3)) > 0.5).float()
    ScaleEnsemble(spy, [1.0, 1.7])(x)  # type: ignore[arg-type]
    assert [tuple(s.shape[-2:]) for s in seen] == [(12, 12), (20, 20)]
    assert all(float(s.min()) >= 0.0 and float(s.max()) <= 1.0 for s in seen)  # no overshoot
