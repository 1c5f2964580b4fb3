from collections.abc import Iterator

import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from daguerre.nn.generators.multiscale import MultiScaleResNetGenerator
from tests.nn.contract import ModuleContract

KW = {"base_channels": 4, "downsamplings": 2, "global_blocks": 1, "local_blocks": 1}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads; on a busy 2-core machine they stall each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _trained_looking() -> MultiScaleResNetGenerator:
    net = MultiScaleResNetGenerator(**KW)
    nn.init.normal_(net.local_head.weight, std=0.05)  # as after some training
    return net


class TestMultiScaleResNetGenerator(ModuleContract):
    build = staticmethod(_trained_looking)
    arch = "multiscale_resnet"
    kwargs = KW
    kind = "style"


def test_starts_as_the_upsampled_coarse_output() -> None:
    net = MultiScaleResNetGenerator(**KW).eval()
    x = torch.rand(1, 3, 32, 48)
    small = F.avg_pool2d(x, 2)
    coarse = net.global_net.eval()(small)
    expected = F.interpolate(coarse, scale_factor=2.0, mode="bilinear", align_corners=False)
    assert torch.allclose(net(x), expected.clamp(0, 1), atol=1e-6)


def test_local_branch_changes_the_output_once_trained() -> None:
    x = torch.rand(1, 3, 32, 32)
    base = MultiScaleResNetGenerator(**KW).eval()
    trained = _trained_looking().eval()
    trained.load_state_dict({**base.state_dict(), **{
        k: v for k, v in trained.state_dict().items() if k.startswith("local_head")
    }})  # fmt: skip
    assert (trained(x) - base(x)).abs().mean() > 1e-4


def test_pad_multiple_doubles_the_global_one() -> None:
    net = MultiScaleResNetGenerator(**KW)
    assert net.pad_multiple == 2 * net.global_net.pad_multiple == 8
    with pytest.raises(RuntimeError):
        net(torch.rand(1, 3, 36, 36))


def test_no_normalisation_layers() -> None:
    norms = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
    assert not [m for m in MultiScaleResNetGenerator(**KW).modules() if isinstance(m, norms)]
