from collections.abc import Iterator

import pytest
import torch

from daguerre.errors import CheckpointNotFoundError
from daguerre.nn.adain import AdaINDecoder, AdaINNet, adain, adain_with_stats, channel_stats
from tests.nn.contract import ModuleContract

KW = {"stages": [3, 6], "base_channels": 4, "max_channels": 16, "blocks": 1}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads; on a busy 2-core machine they stall each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def calibrate_encoder(net: AdaINNet, seed: int = 0) -> AdaINNet:
    """Give a randomly initialised encoder unit-scale features, like trained weights have.

    Fresh BatchNorm layers (running var 1) shrink activations stage after stage, so random
    features fall below AdaIN's epsilon. One forward in training mode with cumulative
    statistics sets every BatchNorm to the statistics of random images.
    """
    for module in net.encoder.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    net.encoder.features.train()  # the frozen wrapper ignores .train(); its trunk does not
    with torch.no_grad():
        net.encode(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(seed)))
    net.encoder.features.eval()
    return net


class TestAdaINNet(ModuleContract):
    build = staticmethod(lambda: AdaINNet(**KW))
    arch = "adain"
    kwargs = KW
    kind = "adain"


def test_adain_matches_the_style_mean_and_std(gen: torch.Generator) -> None:
    content = torch.randn(2, 5, 12, 10, generator=gen) * 0.3 - 2.0
    style = torch.randn(1, 5, 7, 9, generator=gen) * torch.arange(1.0, 6.0).view(1, 5, 1, 1) + 4
    out = adain(content, style)
    mean, std = channel_stats(out)
    style_mean, style_std = channel_stats(style)
    assert out.shape == content.shape
    assert torch.allclose(mean, style_mean.expand_as(mean), atol=1e-4)
    assert torch.allclose(std, style_std.expand_as(std), atol=1e-3)


def test_adain_keeps_the_normalised_content(gen: torch.Generator) -> None:
    content = torch.randn(1, 3, 8, 8, generator=gen)
    out = adain(content, torch.randn(1, 3, 8, 8, generator=gen) * 5 + 1)
    normalise = lambda t: (t - t.mean((2, 3), keepdim=True)) / t.std((2, 3), keepdim=True)  # noqa: E731
    assert torch.allclose(normalise(out), normalise(content), atol=1e-3)


def test_adain_with_stats_equals_adain(gen: torch.Generator) -> None:
    c, s = torch.randn(2, 4, 6, 6, generator=gen), torch.randn(2, 4, 5, 5, generator=gen)
    assert torch.allclose(adain_with_stats(c, channel_stats(c), channel_stats(s)), adain(c, s))


def test_decoder_output_size_follows_the_request() -> None:
    dec = AdaINDecoder(stages=(3, 6, 13), base_channels=4, max_channels=16).eval()
    feats = [torch.rand(1, 24, 9, 12), torch.rand(1, 32, 5, 6), torch.rand(1, 96, 3, 3)]
    out = dec(feats, (33, 47))
    assert out.shape == (1, 3, 33, 47) and out.min() >= 0 and out.max() <= 1


def test_decoder_rejects_decreasing_stages() -> None:
    with pytest.raises(ValueError, match="increasing"):
        AdaINDecoder(stages=(6, 3))


def test_transfer_with_whole_image_stats_equals_forward(gen: torch.Generator) -> None:
    net = AdaINNet(**KW).eval()
    content, style = (
        torch.rand(1, 3, 32, 40, generator=gen),
        torch.rand(1, 3, 24, 24, generator=gen),
    )
    with torch.no_grad():
        out = net.transfer(content, net.stats(content), net.stats(style), alpha=0.7)
        assert torch.allclose(out, net(content, style, alpha=0.7), atol=1e-6)


def test_alpha_zero_ignores_the_style(gen: torch.Generator) -> None:
    net = calibrate_encoder(AdaINNet(**KW)).eval()
    content = torch.rand(1, 3, 32, 32, generator=gen)
    with torch.no_grad():
        a = net(content, torch.rand(1, 3, 32, 32, generator=gen), alpha=0.0)
        b = net(content, torch.rand(1, 3, 16, 16, generator=gen), alpha=0.0)
        c = net(content, torch.rand(1, 3, 16, 16, generator=gen), alpha=1.0)
    assert torch.allclose(a, b, atol=1e-6) and (a - c).abs().mean() > 1e-4


def test_encoder_is_truncated_and_stays_in_eval_mode() -> None:
    assert not AdaINNet(**KW).encoder.training  # BatchNorm statistics must never move
    net = AdaINNet(**KW).train()
    assert len(net.encoder.features) == 7 and net.pad_multiple == 8
    assert not net.encoder.training and net.decoder.training


def test_load_encoder_copies_imagenet_weights() -> None:
    from daguerre.weights.backbone import load_backbone

    try:
        backbone = load_backbone()
    except CheckpointNotFoundError as err:  # pragma: no cover - the file exists in the repo setup
        pytest.skip(f"MobileNetV2 ImageNet weights not found: {err}")
    net = AdaINNet(**KW)
    net.load_encoder(backbone)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = backbone(x, layers=(3, 6))
        got = net.encode(x)
    assert all(torch.equal(a, b) for a, b in zip(got, expected.values(), strict=True))
