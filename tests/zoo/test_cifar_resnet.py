"""camlens.zoo.cifar_resnet: architecture, option-A shortcuts, strict load of real checkpoints."""

from __future__ import annotations

import pytest
import torch

from camlens.core.errors import InvalidInputError
from camlens.zoo import cifar_checkpoint, cifar_resnet, shared_data_dir
from camlens.zoo.cifar_resnet import BasicBlock, OptionAShortcut

torch.set_num_threads(1)

CKPT_DIR = shared_data_dir("cifar10-resnet")
needs_checkpoints = pytest.mark.skipif(
    CKPT_DIR is None,
    reason="../shared/data/cifar10-resnet (or $CAMLENS_SHARED_DATA/cifar10-resnet) is absent",
)


@pytest.mark.parametrize(("depth", "params"), [(20, 269_722), (32, 464_154), (56, 853_018)])
def test_parameter_counts_match_he_et_al(depth, params):
    # He et al. (2016), table 6: 0.27M, 0.46M, 0.85M parameters
    model = cifar_resnet(depth)
    assert sum(p.numel() for p in model.parameters()) == params


def test_shapes_and_stage_resolutions():
    model = cifar_resnet(20).eval()
    x = torch.randn(2, 3, 32, 32)
    sizes = {}
    hooks = [
        getattr(model, n).register_forward_hook(lambda m, i, o, n=n: sizes.__setitem__(n, o.shape))
        for n in ("layer1", "layer2", "layer3")
    ]
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    assert out.shape == (2, 10)
    assert sizes == {
        "layer1": (2, 16, 32, 32),
        "layer2": (2, 32, 16, 16),
        "layer3": (2, 64, 8, 8),
    }


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    x = torch.arange(2 * 16 * 4 * 4, dtype=torch.float32).view(2, 16, 4, 4)
    out = OptionAShortcut(8)(x)
    assert out.shape == (2, 32, 2, 2)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()
    block = BasicBlock(16, 32, stride=2)
    assert isinstance(block.shortcut, OptionAShortcut)
    assert not list(block.shortcut.parameters())


@pytest.mark.parametrize("depth", [19, 4])
def test_invalid_depth_raises(depth):
    with pytest.raises(InvalidInputError, match="6n"):
        cifar_resnet(depth)


@needs_checkpoints
@pytest.mark.parametrize("depth", [20, 56])
def test_strict_load_of_the_published_checkpoints(depth):
    checkpoint = torch.load(cifar_checkpoint(depth), map_location="cpu", weights_only=False)
    state = {k.removeprefix("module."): v for k, v in checkpoint["state_dict"].items()}
    model = cifar_resnet(depth)
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(model.state_dict()) - set(state) == {
        k for k in model.state_dict() if k.endswith("num_batches_tracked")
    }
