"""Explicit registries of networks: name -> class. No discovery, no side effects.

Example:
    >>> net = build_generator("unet", {"base_channels": 8, "depth": 2})
    >>> type(net).__name__
    'UNetGenerator'
"""

from __future__ import annotations

from typing import Any

from torch import nn

from daguerre.errors import ConfigError, UnknownNameError
from daguerre.nn.adain import AdaINNet
from daguerre.nn.discriminators.multiscale import MultiScaleDiscriminator
from daguerre.nn.discriminators.patchgan import PatchDiscriminator
from daguerre.nn.generators.multiscale import MultiScaleResNetGenerator
from daguerre.nn.generators.resnet import ResNetGenerator
from daguerre.nn.generators.unet import UNetGenerator
from daguerre.nn.grade import GradeNet
from daguerre.nn.router import RouterNet
from daguerre.nn.scratch_unet import ScratchUNet

GENERATORS: dict[str, type[nn.Module]] = {
    "unet": UNetGenerator,
    "resnet": ResNetGenerator,
    "multiscale_resnet": MultiScaleResNetGenerator,
    "adain": AdaINNet,
    "scratch_unet": ScratchUNet,
    "grade": GradeNet,
    "router": RouterNet,
}

DISCRIMINATORS: dict[str, type[nn.Module]] = {
    "patchgan": PatchDiscriminator,
    "multiscale": MultiScaleDiscriminator,
}


def _build(
    kind: str, registry: dict[str, type[nn.Module]], name: str, kwargs: dict[str, Any]
) -> nn.Module:
    if name not in registry:
        raise UnknownNameError(kind, name, list(registry))
    try:
        return registry[name](**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{kind} '{name}': {exc}") from exc


def build_generator(name: str, kwargs: dict[str, Any] | None = None) -> nn.Module:
    """Build a generator by registry name; unknown names raise ``UnknownNameError``."""
    return _build("generator", GENERATORS, name, kwargs or {})


def build_discriminator(name: str, kwargs: dict[str, Any] | None = None) -> nn.Module:
    """Build a discriminator by registry name; unknown names raise ``UnknownNameError``."""
    return _build("discriminator", DISCRIMINATORS, name, kwargs or {})
