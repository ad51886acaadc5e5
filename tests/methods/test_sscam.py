"""SS-CAM: against torchcam with the same noise, by hand without noise, and its generator."""

import pytest
import torch
import torchvision

from camlens.core.postprocess import normalize
from camlens.methods.scorecam import ScoreCAM
from camlens.methods.sscam import SSCAM


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10).eval()


def test_sscam_matches_torchcam_with_the_same_seed(resnet):
    # 30x30: H·W = 900 is not a multiple of 16 and 90 does not divide the 128 masks per sample,
    # so the chunks (rounded down to 88) must keep the noise stream aligned in blocks of 16
    from torchcam.methods import SSCAM as TorchcamSSCAM

    x = torch.randn(2, 3, 30, 30, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(11)
    ours = SSCAM(
        resnet,
        "layer1",
        num_samples=2,
        normalize_first=True,
        mask_eps=1e-8,
        batch_size=90,
    ).explain(x, [3, 7])
    torch.manual_seed(11)
    with TorchcamSSCAM(resnet, "layer1", batch_size=128, num_samples=2) as extractor:
        resnet(x)
        (theirs,) = extractor(class_idx=[3, 7], normalized=False)
    torch.testing.assert_close(normalize(ours.raw["layer1"]), normalize(theirs), atol=1e-4, rtol=0)


def test_sscam_without_noise_is_scorecam(small_cnn, images):
    x = images[:2]
    smooth = SSCAM(small_cnn, "conv3", num_samples=3, std=0.0).explain(x, [1, 2])
    score = ScoreCAM(small_cnn, "conv3").explain(x, [1, 2])
    torch.testing.assert_close(smooth.raw["conv3"], score.raw["conv3"], atol=1e-6, rtol=0)


def test_sscam_by_hand_on_the_readout(readout):
    # f is linear: f(X ∘ (H + δ)) = f(X ∘ H) + Σ W0 ⊙ X ⊙ δ; draw the same δ by hand.
    model, x = readout
    gen = torch.Generator().manual_seed(2)
    e = SSCAM(model, "features", num_samples=2, std=0.5, generator=gen).explain(x, [0])
    h = torch.stack([(x[0, 0] - 1) / 3, x[0, 1]])  # masks of channels 0 and 1
    w0 = model.weight[0].detach()
    gen = torch.Generator().manual_seed(2)
    total = torch.zeros(2)
    for _ in range(2):
        noise = torch.randn(2, 2, 2, generator=gen) * 0.5
        total += torch.stack([(w0 * x[0] * (h[k] + noise[k])).sum() for k in range(2)])
    w = torch.softmax(total / 2, dim=0)
    expected = torch.relu(w[0] * x[0, 0] + w[1] * x[0, 1])
    torch.testing.assert_close(e.raw["features"][0], expected)


def test_sscam_generator_makes_it_reproducible(readout):
    model, x = readout

    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        return SSCAM(model, "features", num_samples=2, generator=gen).explain(x, [0])

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a.raw["features"], b.raw["features"])
    assert not torch.allclose(a.raw["features"], c.raw["features"])


def test_sscam_rejects_bad_options(small_cnn):
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        SSCAM(small_cnn, "conv3", num_samples=0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        SSCAM(small_cnn, "conv3", std=-1.0)
