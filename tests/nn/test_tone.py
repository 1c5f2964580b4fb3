"""The tone stage's transform: identity at start, auto-levels at z=1, monochrome kept."""

from __future__ import annotations

import torch

from daguerre.nn.tone import ToneNet, ToneParams, apply_tone, measured_levels, tone_thumbnail, toned


def _params(z: list[float], image: torch.Tensor) -> ToneParams:
    lo, hi = measured_levels(tone_thumbnail(image))
    return ToneParams(torch.tensor([z]).expand(image.shape[0], -1), lo, hi)


def test_an_untrained_net_leaves_the_photo_alone(gen: torch.Generator) -> None:
    image = torch.rand(2, 3, 50, 70, generator=gen)
    out = apply_tone(image.clone(), ToneNet(width=8).predict(image))
    assert torch.allclose(out, image, atol=1e-6)


def test_full_stretch_maps_the_measured_levels_to_black_and_white(gen: torch.Generator) -> None:
    image = 0.2 + 0.5 * torch.rand(1, 3, 64, 64, generator=gen)  # squeezed into [0.2, 0.7]
    params = _params([1, 1, 1, 1, 1, 1, 0], image)
    gain, offset = params.affine()
    assert torch.allclose(params.lo * gain + offset, torch.zeros(1, 3), atol=1e-6)
    assert torch.allclose(params.hi * gain + offset, torch.ones(1, 3), atol=1e-6)
    out = apply_tone(image.clone(), params)
    assert out.amin() < 0.01 and out.amax() > 0.99  # the range is used again


def test_a_monochrome_print_stays_monochrome(gen: torch.Generator) -> None:
    luma = torch.rand(1, 1, 40, 40, generator=gen)
    sepia = torch.cat([0.1 + 0.8 * luma, 0.08 + 0.7 * luma, 0.05 + 0.5 * luma], dim=1)
    out = apply_tone(sepia.clone(), _params([0.7, 0.2, 0.5, 0.3, 0.9, 0.1, -1.0], sepia))
    assert torch.allclose(out[:, 0], out[:, 1], atol=1e-5)  # saturation 0: neutral gray
    assert torch.allclose(out[:, 1], out[:, 2], atol=1e-5)


def test_chunks_give_the_whole_image_result(gen: torch.Generator) -> None:
    image = torch.rand(1, 3, 37, 29, generator=gen)
    params = _params([0.3, 0.1, 0.2, 0.4, 0.0, 0.2, 0.5], image)
    whole = apply_tone(image.clone(), params)
    chunked = apply_tone(image.clone(), params, chunk_pixels=29 * 3)
    assert torch.equal(whole, chunked)
    assert torch.allclose(toned(image, params).clamp(0, 1), whole, atol=1e-6)


def test_the_head_learns_from_the_loss(gen: torch.Generator) -> None:
    net = ToneNet(width=8)
    image = 0.3 + 0.4 * torch.rand(2, 3, 64, 64, generator=gen)
    target = (image - 0.3) / 0.4
    thumbs = tone_thumbnail(image)
    params = ToneParams(net(thumbs), *measured_levels(thumbs))
    loss = (toned(image, params) - target).abs().mean()
    loss.backward()
    assert net.head[-1].weight.grad is not None and net.head[-1].weight.grad.abs().sum() > 0
