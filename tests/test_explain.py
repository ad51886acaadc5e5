"""Several methods from one capture equal the methods run one by one."""

import pytest
import torch
from torch import nn

import camlens
from camlens.core.attention import ATTENTION_METHODS


class CountingForward(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.model(x)


def test_methods_share_one_forward_and_equal_single_runs(small_cnn, images):
    counted = CountingForward(small_cnn).eval()
    names = ["gradcam", "gradcam++", "xgradcam", "hirescam", "gradcamelementwise", "layercam"]
    names += ["eigencam", "eigengradcam", "cam"]  # methods that need nothing but A and G
    results = camlens.explain(counted, images, names, "model.conv3", targets=[1, 2, 3, 4])
    assert counted.calls == 1
    for name in names:
        alone = camlens.get_method(name)(small_cnn, "conv3")(images, targets=[1, 2, 3, 4])
        torch.testing.assert_close(results[name].maps, alone, msg=name)


def test_get_method_names_and_errors():
    assert camlens.get_method("GradCAM++") is camlens.GradCAMPlusPlus
    assert camlens.get_method("grad_cam") is camlens.GradCAM
    with pytest.raises(KeyError, match="gradcam"):
        camlens.get_method("nope")


def test_every_registered_method_runs_through_explain_like_on_its_own(small_cnn, images):
    x = images[:2]
    names = [n for n in camlens.METHODS if n not in ATTENTION_METHODS]  # CNN: no attention
    torch.manual_seed(0)
    results = camlens.explain(small_cnn, x, names, "conv3", targets=[1, 2])
    for name in names:
        torch.manual_seed(0)  # the noisy methods (SS-CAM, Smooth Grad-CAM++) draw the same noise
        alone = camlens.get_method(name)(small_cnn, "conv3")(x, targets=[1, 2])
        assert results[name].maps.shape == (2, 16, 16), name
        if name not in {"sscam", "smoothgradcam++", "randomcam"}:
            torch.testing.assert_close(results[name].maps, alone, msg=name)


def test_attention_methods_through_explain_on_a_cnn_get_the_typed_error(small_cnn, images):
    with pytest.raises(camlens.AttentionNotFoundError, match="gradcam"):
        camlens.explain(small_cnn, images[:1], list(ATTENTION_METHODS), None)
