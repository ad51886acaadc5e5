"""IS-CAM: against torchcam, by hand on the readout model, and N = 1 is Score-CAM."""

import pytest
import torch
import torchvision

from camlens.core.postprocess import normalize
from camlens.methods.iscam import ISCAM
from camlens.methods.scorecam import ScoreCAM


def test_iscam_matches_torchcam():
    from torchcam.methods import ISCAM as TorchcamISCAM

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    ours = ISCAM(model, "layer1", num_samples=3, normalize_first=True, mask_eps=1e-8).explain(
        x, [3, 7]
    )
    with TorchcamISCAM(model, "layer1", batch_size=128, num_samples=3) as extractor:
        model(x)
        (theirs,) = extractor(class_idx=[3, 7], normalized=False)
    torch.testing.assert_close(normalize(ours.raw["layer1"]), normalize(theirs), atol=1e-4, rtol=0)


def test_iscam_coefficients_are_torchcams_running_sum(small_cnn):
    cam = ISCAM(small_cnn, "conv3", num_samples=4)
    assert cam.coefficients == pytest.approx([0.25, 0.75, 1.5, 2.5])


def test_iscam_by_hand_on_the_readout(readout):
    # f is linear, so f(a·X∘H) = a·f(X∘H): with N = 3 (a = 1/3, 1, 2) the scores are 10/9 × the
    # Score-CAM scores (5, 1) of class 0.
    model, x = readout
    e = ISCAM(model, "features", num_samples=3).explain(x, [0])
    w = torch.softmax(10 / 9 * torch.tensor([5.0, 1.0]), dim=0)
    torch.testing.assert_close(e.raw["features"][0], torch.relu(w[0] * x[0, 0] + w[1] * x[0, 1]))


def test_iscam_with_one_sample_is_scorecam(small_cnn, images):
    x = images[:2]
    one = ISCAM(small_cnn, "conv3", num_samples=1).explain(x, [1, 2])
    score = ScoreCAM(small_cnn, "conv3").explain(x, [1, 2])
    torch.testing.assert_close(one.raw["conv3"], score.raw["conv3"])


def test_iscam_rejects_bad_options(small_cnn):
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        ISCAM(small_cnn, "conv3", num_samples=0)
