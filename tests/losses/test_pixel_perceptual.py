import torch

from daguerre.losses.perceptual import gram, perceptual_loss, style_loss
from daguerre.losses.pixel import frequency_l1, l1


def test_masked_l1_only_counts_masked_pixels() -> None:
    pred, target = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    pred[..., 0, 0] = 1.0
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 0, 0] = 1.0
    assert float(l1(pred, target, mask)) == 1.0
    assert float(l1(pred, target)) == 1.0 / 16


def test_frequency_l1_zero_for_identical() -> None:
    x = torch.rand(1, 3, 8, 8)
    assert float(frequency_l1(x, x)) == 0.0
    assert float(frequency_l1(x, x.flip(-1).roll(1, -2))) > 0.0


def _features(x: torch.Tensor) -> list[torch.Tensor]:
    return [x, torch.nn.functional.avg_pool2d(x, 2)]


def test_perceptual_loss_gradients_flow_to_pred_only() -> None:
    pred = torch.rand(1, 3, 8, 8, requires_grad=True)
    target = torch.rand(1, 3, 8, 8)
    loss = perceptual_loss(pred, target, _features)
    loss.backward()
    assert float(loss.detach()) > 0 and pred.grad is not None


def test_gram_and_style_loss() -> None:
    x = torch.rand(2, 4, 5, 5)
    g = gram(x)
    assert g.shape == (2, 4, 4) and torch.allclose(g, g.transpose(1, 2))
    style = _features(torch.rand(1, 3, 8, 8))
    assert float(style_loss(torch.rand(2, 3, 8, 8), style, _features)) > 0
