import torch

from daguerre.nn.discriminators.multiscale import MultiScaleDiscriminator
from daguerre.nn.discriminators.patchgan import PatchDiscriminator
from tests.nn.contract import ModuleContract

KW = {"in_channels": 6, "base_channels": 8, "layers": 2}


class TestPatchDiscriminator(ModuleContract):
    build = staticmethod(lambda: PatchDiscriminator(**KW))
    input_shape = (2, 6, 32, 32)
    output_shape = (2, 1, 6, 6)
    arch = "patchgan"
    kwargs = KW
    kind = "discriminator"


class TestMultiScaleDiscriminator(ModuleContract):
    build = staticmethod(lambda: MultiScaleDiscriminator(num_scales=2, **KW))
    input_shape = (2, 6, 64, 64)
    output_shape = (2, 1, 6, 6)  # the last (coarsest) scale
    arch = "multiscale"
    kwargs = {"num_scales": 2, **KW}
    kind = "discriminator"


def test_multiscale_returns_one_feature_list_per_scale() -> None:
    d = MultiScaleDiscriminator(num_scales=3, **KW)
    outs = d(torch.rand(1, 6, 64, 64))
    assert len(outs) == 3
    assert [o[-1].shape[-1] for o in outs] == [14, 6, 2]
