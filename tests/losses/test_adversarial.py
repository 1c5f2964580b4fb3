import pytest
import torch

from daguerre.losses.adversarial import GAN_MODES, d_loss, feature_matching, g_loss


def _out(value: float) -> list[list[torch.Tensor]]:
    return [[torch.full((1, 4, 3, 3), value), torch.full((1, 1, 2, 2), value)]]


@pytest.mark.parametrize("mode", GAN_MODES)
def test_d_loss_lower_when_d_is_right(mode: str) -> None:
    right = d_loss(_out(3.0), _out(-3.0), mode)
    wrong = d_loss(_out(-3.0), _out(3.0), mode)
    assert right < wrong


@pytest.mark.parametrize("mode", GAN_MODES)
def test_g_loss_lower_when_fake_looks_real(mode: str) -> None:
    assert g_loss(_out(3.0), mode) < g_loss(_out(-3.0), mode)


def test_lsgan_values() -> None:
    assert float(d_loss(_out(1.0), _out(0.0), "lsgan")) == 0.0
    assert float(g_loss(_out(0.0), "lsgan")) == 1.0


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="gan mode"):
        g_loss(_out(0.0), "wgan")  # type: ignore[arg-type]


def test_feature_matching_ignores_logits_and_detaches_real() -> None:
    real = _out(1.0)
    fake = [[torch.full((1, 4, 3, 3), 0.0, requires_grad=True), torch.full((1, 1, 2, 2), 9.0)]]
    loss = feature_matching(real, fake)
    assert float(loss.detach()) == 1.0
    loss.backward()
    assert fake[0][0].grad is not None
