import pytest

from daguerre.errors import ConfigError, UnknownNameError
from daguerre.nn.factory import build_discriminator, build_generator


def test_unknown_generator_lists_choices() -> None:
    with pytest.raises(UnknownNameError, match="choose from: .*unet"):
        build_generator("unett")


def test_unknown_discriminator_lists_choices() -> None:
    with pytest.raises(UnknownNameError, match="multiscale, patchgan"):
        build_discriminator("nope")


def test_bad_kwargs_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unet"):
        build_generator("unet", {"wrong_arg": 1})
