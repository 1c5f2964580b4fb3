"""Chemical ageing of the print's tones: sepia toning, yellowing, fading and colour dye fade.

Physics (FIELD.md section 3.5): sepia toning turns silver into brown silver sulfide (warm shadows
and mid-tones, cream highlights); gelatin and paper yellow where there is little silver
(highlights, borders); fading lifts blacks to brown-grey, lowers the white point and hits the
edges first; chromogenic colour prints lose cyan dye fastest, leaving a red-magenta cast with a
yellow stain in the highlights. All four work per channel, some in a density-like domain, and are
modulated by a low-frequency field drawn from the per-image ``seed``.

Every op takes and returns float32 ``(B, 3, H, W)`` images in [0, 1]; ``strength = 0`` is the
identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daguerre.degrade.base import Degradation, check_image, seeds, uniform
from daguerre.degrade.fields import Draw, edge_distance, fractal_noise, luminance, per_image
from daguerre.types import Tensor

_DMAX = 2.2  # maximum optical density of a photographic print (deepest black ~ 0.6 % reflectance)


def _low_freq(seed_values: Tensor, img: Tensor, rel_scale: float = 0.5) -> Tensor:
    """One fractal field per image at ``rel_scale`` x the short side: ``(B,1,H,W)``, unit std."""
    _, _, height, width = img.shape
    scale = rel_scale * min(height, width)
    fields = [
        fractal_noise(Draw(seed), height, width, scale=scale, octaves=3) for seed in seed_values
    ]
    return torch.cat(fields).to(img.device)


def _edge_weight(img: Tensor, width: Tensor) -> Tensor:
    """``exp(-d / width)`` with ``d`` the distance to the border over the short side: (B,1,H,W)."""
    _, _, height, wide = img.shape
    dist = edge_distance(height, wide).to(img.device)
    return torch.exp(-dist / per_image(width, img).clamp_min(1e-3))


# --- sepia ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SepiaParams:
    """Per-image sepia parameters, all ``(B,)`` float32."""

    strength: Tensor  # blend of the toned print over the input, [0, 1]
    warmth: Tensor  # how far the per-channel curves spread (1 = typical sulfide toner)
    cream: Tensor  # how cream (vs white) the highlights are, [0, 1]


class Sepia(Degradation[SepiaParams]):
    """Sepia toning: luminance through warm per-channel curves, cream highlights.

    Each channel is ``L ** gamma_c`` with ``gamma_R < gamma_G < gamma_B`` (so R >= G >= B on any
    grey), a brown lift of the blacks and a cream white point, blended over the input by
    ``strength``.

    Toning replaces the silver of a black-and-white print, so the colour it covers is gone:
    by default the clean target of a training pair loses the same share of its colour
    (:meth:`target`: blended towards its luminance by ``strength``). Without that, a sepia
    input could stand for a neutral print or for a colour photo, and a network trained on both
    invents blotchy colour on real sepia prints.

    Args:
        strength: (min, max) blend of the toned version, uniform per image.
        warmth: (min, max) spread of the channel curves (0 = neutral grey, 1 = typical).
        cream: (min, max) cream tint of the highlights.
        applies_to_target: desaturate the clean target too (see above).
    """

    name = "sepia"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.6, 1.0),
        warmth: tuple[float, float] = (0.6, 1.3),
        cream: tuple[float, float] = (0.2, 0.8),
        applies_to_target: bool = True,
    ) -> None:
        self.strength, self.warmth, self.cream = strength, warmth, cream
        self.applies_to_target = applies_to_target

    def sample(self, gen: torch.Generator, batch: int) -> SepiaParams:
        """Draw strength, warmth and cream per image."""
        return SepiaParams(
            strength=uniform(gen, batch, *self.strength),
            warmth=uniform(gen, batch, *self.warmth),
            cream=uniform(gen, batch, *self.cream),
        )

    def apply(self, img: Tensor, params: SepiaParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        lum = luminance(img).clamp(0.0, 1.0)
        warmth = per_image(params.warmth, img)
        # gamma per channel: red lifted, blue pushed down -> brown mid-tones
        spread = torch.tensor([-0.22, 0.0, 0.40], device=img.device).view(1, 3, 1, 1)
        toned = lum.clamp_min(1e-4) ** (1.0 + warmth * spread)
        cream = per_image(params.cream, img)
        white = 1.0 - cream * torch.tensor([0.0, 0.04, 0.14], device=img.device).view(1, 3, 1, 1)
        black = warmth * torch.tensor([0.07, 0.045, 0.025], device=img.device).view(1, 3, 1, 1)
        toned = black + (white - black) * toned
        strength = per_image(params.strength, img)
        return (img + strength * (toned - img)).clamp(0.0, 1.0)

    def target(self, img: Tensor, params: SepiaParams) -> Tensor:
        """The neutral truth of a toned print: ``img`` desaturated by ``strength``.

        ``(B,3,H,W)`` float32 [0,1] -> same shape, blended towards its luminance.
        """
        check_image(img)
        gray = luminance(img).clamp(0.0, 1.0).expand_as(img)
        strength = per_image(params.strength, img)
        return (img + strength * (gray - img)).clamp(0.0, 1.0)


# --- yellowing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class YellowingParams:
    """Per-image yellowing parameters, ``(B,)`` tensors."""

    strength: Tensor  # stain density at full weight, [0, 1]
    border: Tensor  # border falloff width as a fraction of the short side
    hue: Tensor  # 0 = lemon yellow, 1 = brownish ochre
    seed: Tensor  # int64, seeds the low-frequency modulation


class Yellowing(Degradation[YellowingParams]):
    """Yellow stain of aged gelatin and paper, strongest in highlights and near the borders.

    ``out = img * (1 - w * (1 - stain))`` with ``w = strength * max(L ** 1.5, edge) * field``,
    where ``edge`` decays from the border and ``field`` is a low-frequency modulation.

    Args:
        strength: (min, max) stain density.
        border: (min, max) border falloff width, fraction of the short side.
        hue: (min, max) from lemon (0) to ochre (1).
    """

    name = "yellowing"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.15, 0.5),
        border: tuple[float, float] = (0.03, 0.15),
        hue: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        self.strength, self.border, self.hue = strength, border, hue

    def sample(self, gen: torch.Generator, batch: int) -> YellowingParams:
        """Draw strength, border width, hue and a field seed per image."""
        return YellowingParams(
            strength=uniform(gen, batch, *self.strength),
            border=uniform(gen, batch, *self.border),
            hue=uniform(gen, batch, *self.hue),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: YellowingParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        lum = luminance(img).clamp(0.0, 1.0)
        weight = torch.maximum(lum**1.5, _edge_weight(img, params.border))
        field = (1.0 + 0.45 * _low_freq(params.seed, img)).clamp(0.2, 2.0)
        weight = per_image(params.strength, img) * weight * field
        hue = per_image(params.hue, img)
        # transmittance of the stain: lemon (1, .97, .55) .. ochre (.93, .80, .50)
        lemon = torch.tensor([1.0, 0.97, 0.55], device=img.device).view(1, 3, 1, 1)
        ochre = torch.tensor([0.93, 0.80, 0.50], device=img.device).view(1, 3, 1, 1)
        stain = lemon + hue * (ochre - lemon)
        return (img * (1.0 - weight * (1.0 - stain))).clamp(0.0, 1.0)


# --- fade -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FadeParams:
    """Per-image fading parameters, ``(B,)`` tensors."""

    strength: Tensor  # overall fade, [0, 1]; 0 = identity
    edge: Tensor  # extra fade at the border relative to the centre, [0, 1]
    warmth: Tensor  # how brown (vs neutral grey) the lifted blacks are, [0, 1]
    seed: Tensor  # int64, seeds the unevenness field


class Fade(Degradation[FadeParams]):
    """Fading: lifted brown-grey blacks, lower white point, less contrast and chroma, uneven.

    The local fade ``f`` is ``strength`` times a low-frequency field, raised towards the border
    (edges fade first). ``out = black(f) + (white(f) - black(f)) * mix(img, luma, f / 2)``.

    Args:
        strength: (min, max) fade amount (0.5 is a clearly washed-out print).
        edge: (min, max) extra fade at the border.
        warmth: (min, max) brownness of the lifted blacks.
    """

    name = "fade"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.15, 0.55),
        edge: tuple[float, float] = (0.0, 0.8),
        warmth: tuple[float, float] = (0.3, 1.0),
    ) -> None:
        self.strength, self.edge, self.warmth = strength, edge, warmth

    def sample(self, gen: torch.Generator, batch: int) -> FadeParams:
        """Draw strength, edge fade, warmth and a field seed per image."""
        return FadeParams(
            strength=uniform(gen, batch, *self.strength),
            edge=uniform(gen, batch, *self.edge),
            warmth=uniform(gen, batch, *self.warmth),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: FadeParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        edge = _edge_weight(img, torch.full_like(params.strength, 0.12))
        field = (1.0 + 0.3 * _low_freq(params.seed, img)).clamp(0.3, 1.7)
        fade = per_image(params.strength, img) * field * (1.0 + per_image(params.edge, img) * edge)
        fade = fade.clamp(0.0, 1.0)
        warmth = per_image(params.warmth, img)
        grey = torch.full((1, 3, 1, 1), 0.45, device=img.device)
        brown = torch.tensor([0.52, 0.42, 0.32], device=img.device).view(1, 3, 1, 1)
        black = 0.55 * fade * (grey + warmth * (brown - grey))
        white = 1.0 - fade * torch.tensor([0.14, 0.16, 0.2], device=img.device).view(1, 3, 1, 1)
        flat = img + 0.5 * fade * (luminance(img) - img)  # fading also loses chroma
        return (black + (white - black) * flat).clamp(0.0, 1.0)


# --- dye fade -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DyeFadeParams:
    """Per-image colour dye fading parameters, ``(B,)`` tensors."""

    strength: Tensor  # overall fade, [0, 1]; 0 = identity
    cyan: Tensor  # fraction of cyan dye density lost at full strength
    magenta: Tensor  # fraction of magenta dye density lost
    yellow: Tensor  # fraction of yellow dye density lost
    stain: Tensor  # yellow stain density in the highlights
    seed: Tensor  # int64, seeds the unevenness field


class DyeFade(Degradation[DyeFadeParams]):
    """Chromogenic print dye fade (1960s-80s): cyan goes first, red-magenta cast, yellow stain.

    Works in optical density ``D = -log10(x)`` per channel (the red channel is the cyan dye's
    density, green magenta's, blue yellow's): ``D' = D * (1 - loss_c * s)`` with ``s`` the local
    strength, then a highlight-weighted yellow stain (blue density added where the print is
    light).

    Args:
        strength: (min, max) overall fade.
        cyan: (min, max) cyan density loss (fastest).
        magenta: (min, max) magenta density loss (slowest).
        yellow: (min, max) yellow density loss.
        stain: (min, max) yellow stain density (blue-channel density) in the highlights.
    """

    name = "dye_fade"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.4, 1.0),
        cyan: tuple[float, float] = (0.25, 0.6),
        magenta: tuple[float, float] = (0.05, 0.2),
        yellow: tuple[float, float] = (0.1, 0.35),
        stain: tuple[float, float] = (0.03, 0.15),
    ) -> None:
        self.strength, self.cyan, self.magenta = strength, cyan, magenta
        self.yellow, self.stain = yellow, stain

    def sample(self, gen: torch.Generator, batch: int) -> DyeFadeParams:
        """Draw strength, per-dye losses, stain and a field seed per image."""
        return DyeFadeParams(
            strength=uniform(gen, batch, *self.strength),
            cyan=uniform(gen, batch, *self.cyan),
            magenta=uniform(gen, batch, *self.magenta),
            yellow=uniform(gen, batch, *self.yellow),
            stain=uniform(gen, batch, *self.stain),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: DyeFadeParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        field = (1.0 + 0.25 * _low_freq(params.seed, img)).clamp(0.4, 1.6)
        local = per_image(params.strength, img) * field
        loss = torch.cat(
            [
                per_image(params.cyan, img),
                per_image(params.magenta, img),
                per_image(params.yellow, img),
            ],
            dim=1,
        )
        density = -torch.log10(img.clamp_min(10**-_DMAX))  # a print's Dmax is about 2.2
        density = density * (1.0 - (loss * local).clamp(0.0, 0.95))
        highlight = luminance(img).clamp(0.0, 1.0) ** 2
        stain = per_image(params.stain, img) * local * highlight
        zero = torch.zeros_like(stain)
        density = density + torch.cat([zero, 0.25 * stain, stain], dim=1)
        out = torch.pow(10.0, -density)
        # strength 0 must give the input back bit for bit (the log round trip is not exact)
        return torch.where(local > 0, out, img).clamp(0.0, 1.0)
