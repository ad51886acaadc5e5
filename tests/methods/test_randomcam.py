"""Random-CAM: uniform weights in [-1, 1] from a seed, a generator, or numpy (pytorch-grad-cam)."""

import numpy as np
import pytest
import torch

from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.randomcam import RandomCAM


def test_seeded_weights_by_hand(readout):
    model, x = readout
    e = RandomCAM(model, "features", seed=3).explain(x, [0])
    w = torch.rand(1, 2, generator=torch.Generator().manual_seed(3)) * 2 - 1
    assert bool(((w >= -1) & (w <= 1)).all())
    expected = torch.relu(w[0, 0] * x[0, 0] + w[0, 1] * x[0, 1])
    torch.testing.assert_close(e.raw["features"][0], expected)


def test_seed_repeats_generator_advances(small_cnn, images):
    x = images[:2]
    seeded = RandomCAM(small_cnn, "conv2", seed=0)
    assert torch.equal(seeded(x), seeded(x))
    other = RandomCAM(small_cnn, "conv2", seed=1)(x)
    assert not torch.equal(seeded(x), other)
    cam = RandomCAM(small_cnn, "conv2", generator=torch.Generator().manual_seed(0))
    first, second = cam(x), cam(x)
    assert torch.equal(first, seeded(x))  # the same first draw as seed=0
    assert not torch.equal(first, second)


def test_weights_are_uniform_on_minus_one_one(small_cnn, images):
    # one weight per image and channel: with a 1-channel readout of A = 1 the raw map is ReLU(w)
    x = torch.ones(400, 1, 1, 1)

    class One(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Identity()

        def forward(self, x):
            return self.features(x).flatten(1)

    raw = RandomCAM(One().eval(), "features", seed=0).explain(x, [0]).raw["features"].flatten()
    assert 0.4 < float((raw > 0).float().mean()) < 0.6  # half the weights are negative
    assert float(raw.max()) <= 1.0 and float(raw.max()) > 0.9


def test_numpy_rng_matches_pytorch_grad_cam(small_cnn, images):
    from pytorch_grad_cam import RandomCAM as TheirRandomCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    class PGCRandomCAM(RandomCAM):
        fuse = staticmethod(fuse_pytorch_grad_cam)

    # relu3: pytorch-grad-cam keeps activations by reference, so a layer followed by an in-place
    # op (conv3 -> ReLU(inplace=True)) would show it the rewritten values
    x = images[:2]
    np.random.seed(4)  # noqa: NPY002  (pytorch-grad-cam draws from numpy's global generator)
    ours = PGCRandomCAM(small_cnn, "relu3", rng="numpy")(x, [1, 2])
    np.random.seed(4)  # noqa: NPY002  (pytorch-grad-cam draws from numpy's global generator)
    theirs = TheirRandomCAM(small_cnn, [small_cnn.relu3])(
        x, [ClassifierOutputTarget(1), ClassifierOutputTarget(2)]
    )
    torch.testing.assert_close(ours, torch.from_numpy(theirs), atol=1e-5, rtol=0)


def test_rejects_seed_and_generator(small_cnn):
    with pytest.raises(ValueError, match="not both"):
        RandomCAM(small_cnn, "conv3", seed=0, generator=torch.Generator())
    with pytest.raises(ValueError, match="rng must be"):
        RandomCAM(small_cnn, "conv3", rng="python")
