"""Tone curves and colour casts of any shape: the coverage ops of the restoration training mix.

The physical ops of :mod:`daguerre.degrade.tone` draw one look each (a sulfide toner, cyan dye
going first). A restorer trained only on those learns those looks. These two ops instead
sample the families wide and independently, so that fading and casts nobody wrote down are
still inside the training distribution (the Real-ESRGAN lesson, applied to old prints):

* :class:`Levels`: per-channel black point (lifted shadows), white point (dulled
  highlights) and gamma (a curve), each drawn around a shared value with per-channel jitter.
* :class:`ColorCast`: a highlight cast (a per-channel gain towards any hue) and an
  independent shadow cast (an additive veil of any hue).

Both leave the clean target alone: a levels squeeze or a cast is recoverable.

Every op takes and returns float32 ``(B, 3, H, W)`` images in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from daguerre.degrade.base import Degradation, check_image, log_uniform, uniform
from daguerre.types import Tensor


def _jitter(gen: torch.Generator, base: Tensor, spread: float) -> Tensor:
    """``(B,)`` base -> ``(B,3)``: the base plus an independent uniform jitter per channel."""
    return base[:, None] + spread * (2.0 * torch.rand(base.shape[0], 3, generator=gen) - 1.0)


def _channels(values: Tensor, img: Tensor) -> Tensor:
    """A ``(B,3)`` params field as float32 ``(B,3,1,1)`` on ``img``'s device."""
    return values.to(device=img.device, dtype=torch.float32).view(-1, 3, 1, 1)


def hue_color(hue: Tensor) -> Tensor:
    """Fully saturated RGB of hues in turns: ``(B,)`` in [0, 1) -> ``(B,3)`` in [0, 1].

    Example:
        >>> [round(v, 3) for v in hue_color(torch.tensor([0.0, 1.0 / 3.0]))[1].tolist()]
        [0.0, 1.0, 0.0]
    """
    offsets = torch.tensor([0.0, 1.0 / 3.0, 2.0 / 3.0])  # red, green, blue peaks
    angle = 2.0 * math.pi * (hue[:, None] - offsets)
    return (0.5 + torch.cos(angle)).clamp(0.0, 1.0)


# --- levels -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelsParams:
    """Per-image, per-channel levels, all ``(B,3)`` float32."""

    black: Tensor  # output level of input black, [0, 0.5)
    white: Tensor  # output level of input white, (0.5, 1]
    gamma: Tensor  # exponent of the curve, > 0 (1 = straight)


class Levels(Degradation[LevelsParams]):
    """A levels squeeze through a curve: ``out = black + (white - black) * img ** gamma``.

    Black point, white point and gamma are each drawn per image (uniform, gamma log-uniform)
    and then jittered per channel, so a squeeze may be neutral or carry a cast in the shadows,
    the highlights or the mid-tones, independently.

    Args:
        black: (min, max) lifted black level; (0, 0) leaves the shadows.
        white: (min, max) lowered white level; (1, 1) leaves the highlights.
        gamma: (min, max) curve exponent, log-uniform; (1, 1) keeps the curve straight.
        jitter: per-channel spread of black and white levels (+- this).
        gamma_jitter: per-channel spread of gamma, as a factor exp(+- this).

    Example:
        >>> op = Levels(black=(0.2, 0.2), white=(0.8, 0.8), gamma=(1.0, 1.0), jitter=0.0)
        >>> ramp = torch.linspace(0, 1, 5).repeat(1, 3, 1, 1)
        >>> [round(v, 2) for v in op(ramp, torch.Generator())[0, 0, 0].tolist()]
        [0.2, 0.35, 0.5, 0.65, 0.8]
    """

    name = "levels"

    def __init__(
        self,
        *,
        black: tuple[float, float] = (0.0, 0.3),
        white: tuple[float, float] = (0.65, 1.0),
        gamma: tuple[float, float] = (0.6, 1.6),
        jitter: float = 0.05,
        gamma_jitter: float = 0.15,
    ) -> None:
        assert 0.0 <= black[0] <= black[1] < 0.5 < white[0] <= white[1] <= 1.0, "levels range"
        assert 0.0 < gamma[0] <= gamma[1], "gamma must be positive"
        self.black, self.white, self.gamma = black, white, gamma
        self.jitter, self.gamma_jitter = jitter, gamma_jitter

    def sample(self, gen: torch.Generator, batch: int) -> LevelsParams:
        """Draw shared levels and gamma, then per-channel jitter, per image."""
        black = _jitter(gen, uniform(gen, batch, *self.black), self.jitter)
        white = _jitter(gen, uniform(gen, batch, *self.white), self.jitter)
        gamma = _jitter(gen, log_uniform(gen, batch, *self.gamma).log(), self.gamma_jitter)
        return LevelsParams(
            black=black.clamp(0.0, 0.49), white=white.clamp(0.51, 1.0), gamma=gamma.exp()
        )

    def apply(self, img: Tensor, params: LevelsParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, in [0,1]."""
        check_image(img)
        black, white = _channels(params.black, img), _channels(params.white, img)
        curved = img.clamp_min(0.0) ** _channels(params.gamma, img)
        return (black + (white - black) * curved).clamp(0.0, 1.0)


# --- colour cast -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColorCastParams:
    """Per-image colour cast parameters, ``(B,)`` float32."""

    hue: Tensor  # hue of the highlight cast, in turns [0, 1)
    gain: Tensor  # its strength: channels scaled towards that hue, [0, 1)
    shadow_hue: Tensor  # hue of the shadow veil, in turns [0, 1)
    veil: Tensor  # its strength: additive light of that hue where the print is dark, [0, 1)


class ColorCast(Degradation[ColorCastParams]):
    """A cast of any hue: a gain in the highlights and an independent veil in the shadows.

    ``out = veil * c_s * (1 - x) + x`` with ``x = img * (1 - gain * (1 - c_h))``, where ``c_h``
    and ``c_s`` are the fully saturated colours of the two hues: the gain tints what is
    light (a yellowed or magenta print), the veil lifts what is dark in its own hue (a
    cyan-black or brown-black print).

    Args:
        gain: (min, max) strength of the highlight cast.
        veil: (min, max) strength of the shadow cast.

    Example:
        >>> op = ColorCast(gain=(0.3, 0.3), veil=(0.0, 0.0))
        >>> out = op(torch.ones(1, 3, 2, 2), torch.Generator().manual_seed(0))
        >>> bool(out.amax() == 1.0 and out.amin() < 0.75)
        True
    """

    name = "color_cast"

    def __init__(
        self, *, gain: tuple[float, float] = (0.0, 0.45), veil: tuple[float, float] = (0.0, 0.15)
    ) -> None:
        assert 0.0 <= gain[0] <= gain[1] < 1.0 and 0.0 <= veil[0] <= veil[1] < 1.0, "cast range"
        self.gain, self.veil = gain, veil

    def sample(self, gen: torch.Generator, batch: int) -> ColorCastParams:
        """Draw two hues and two strengths per image."""
        return ColorCastParams(
            hue=uniform(gen, batch, 0.0, 1.0),
            gain=uniform(gen, batch, *self.gain),
            shadow_hue=uniform(gen, batch, 0.0, 1.0),
            veil=uniform(gen, batch, *self.veil),
        )

    def apply(self, img: Tensor, params: ColorCastParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, in [0,1]."""
        check_image(img)
        tint = _channels(hue_color(params.hue), img)
        gain = params.gain.to(device=img.device, dtype=torch.float32).view(-1, 1, 1, 1)
        lit = img * (1.0 - gain * (1.0 - tint))
        veil = _channels(params.veil[:, None] * hue_color(params.shadow_hue), img)
        return (lit + veil * (1.0 - lit)).clamp(0.0, 1.0)
