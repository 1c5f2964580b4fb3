from collections.abc import Iterator

import pytest
import torch
from torch import nn

from daguerre.nn.generators.resnet import ResNetGenerator
from tests.nn.contract import ModuleContract

KW = {"base_channels": 8, "downsamplings": 2, "blocks": 2, "max_channels": 32}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads; on a busy 2-core machine they stall each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class TestResNetGenerator(ModuleContract):
    build = staticmethod(lambda: ResNetGenerator(**KW))
    arch = "resnet"
    kwargs = KW
    kind = "style"


class TestResNetGeneratorNotResidual(ModuleContract):
    build = staticmethod(lambda: ResNetGenerator(**KW, residual=False))
    input_shape = (1, 3, 24, 40)
    output_shape = (1, 3, 24, 40)


def test_zero_head_is_identity() -> None:
    net = ResNetGenerator(**KW).eval()
    nn.init.zeros_(net.head.weight)
    nn.init.zeros_(net.head.bias)
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(net(x), x, atol=1e-6)


def test_eval_output_is_clamped_training_output_is_not() -> None:
    net = ResNetGenerator(**KW)
    x = torch.rand(1, 3, 32, 32) * 3 - 1
    assert net.train()(x).min() < 0
    out = net.eval()(x)
    assert out.min() >= 0 and out.max() <= 1


def test_pad_multiple_and_bad_size() -> None:
    net = ResNetGenerator(**{**KW, "downsamplings": 3})
    assert net.pad_multiple == 8
    with pytest.raises(RuntimeError):
        net(torch.rand(1, 3, 36, 36))


def test_no_normalisation_layers() -> None:
    """The tiling choice: no layer computes statistics of its input (they would be per tile)."""
    norms = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
    assert not [m for m in ResNetGenerator(**KW).modules() if isinstance(m, norms)]


def test_output_is_local_so_crops_agree_with_the_whole_image() -> None:
    """A crop's interior equals the same pixels of the whole-image output (no global state)."""
    gen = torch.Generator().manual_seed(0)
    net = ResNetGenerator(**KW).eval()
    x = torch.rand(1, 3, 160, 160, generator=gen)
    with torch.no_grad():
        whole = net(x)
        crop = net(x[..., 16:144, 16:144])  # receptive-field radius ~40 px: keep a 48 px margin
    assert torch.allclose(crop[..., 48:80, 48:80], whole[..., 64:96, 64:96], atol=1e-5)
    assert not torch.allclose(crop[..., :8, :8], whole[..., 16:24, 16:24], atol=1e-5)
