"""Acceptance on a real model: the ImageNet MobileNetV2 exported to ONNX sees the cat in
scikit-image's chelsea, and its RISE, Score-CAM and LIME maps peak on the cat (the boxes of
tests/test_demo.py, hand-drawn on the 224x224 crop)."""

from __future__ import annotations

import pytest
import torch

import camlens
from camlens.onnx import OnnxModel
from camlens.pretrained import (
    INSTALL_COMMAND,
    imagenet_preprocess,
    mobilenet_v2_imagenet,
    packaged_checkpoint,
)

pytest.importorskip("torchvision")
skimage_data = pytest.importorskip("skimage.data")

pytestmark = pytest.mark.skipif(
    packaged_checkpoint() is None,
    reason=f"the MobileNetV2 weights package is not installed ({INSTALL_COMMAND})",
)

CAT_CLASSES = range(281, 286)
CAT_BOX = (0, 0, 224, 224)  # tests/test_demo.py: the centre crop is all cat
FACE_BOX = (32, 56, 213, 224)  # tests/test_demo.py: eye corner to eye corner, eyes to mouth
# features.17's 320-channel projection (7x7): a quarter of features.18's Score-CAM passes
PROJECTION = "/features/features.17/conv/conv.2/Conv_output_0"


def inside(box: tuple[int, int, int, int], cam: torch.Tensor) -> bool:
    row, col = divmod(int(cam.argmax()), cam.shape[-1])
    x0, y0, x1, y1 = box
    return x0 <= col < x1 and y0 <= row < y1


@pytest.fixture(scope="module")
def exported(tmp_path_factory, to_onnx):
    x = imagenet_preprocess(skimage_data.chelsea()).tensor
    path = tmp_path_factory.mktemp("mobilenet") / "mobilenet_v2.onnx"
    model = mobilenet_v2_imagenet()
    path.write_bytes(to_onnx(model, x))
    return model, path, x


def test_the_onnx_export_classifies_chelsea_as_the_torch_model_does(exported):
    model, path, x = exported
    with torch.no_grad():
        expected = model(x)
    got = OnnxModel(path)(x)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert int(got.argmax()) in CAT_CLASSES


def test_score_cam_on_the_onnx_model_peaks_on_the_cat_face(exported):
    _, path, x = exported
    explanation = camlens.ScoreCAM(path, PROJECTION, batch_size=64).explain(x)
    assert int(explanation.targets[0].category) in CAT_CLASSES
    maps = explanation.maps[0]
    assert maps.shape == (224, 224)
    assert inside(CAT_BOX, maps) and inside(FACE_BOX, maps)


def test_rise_on_the_onnx_model_peaks_on_the_cat(exported):
    _, path, x = exported
    explanation = camlens.get_method("rise")(path, n_masks=400, batch_size=50, seed=0).explain(x)
    assert int(explanation.targets[0].category) in CAT_CLASSES
    assert inside(CAT_BOX, explanation.maps[0])


def test_lime_on_the_onnx_model_peaks_on_the_cat(exported):
    _, path, x = exported
    lime = camlens.get_method("lime")(path, n_samples=200, batch_size=50, seed=0)
    explanation = lime.explain(x)
    assert int(explanation.targets[0].category) in CAT_CLASSES
    assert explanation.maps.shape == (1, 224, 224)
    assert inside(CAT_BOX, explanation.maps[0])
    # the peak is the superpixel of the largest weight, and that weight raises the cat's score
    weights, segments = explanation.weights[0], explanation.segments[0]
    row, col = divmod(int(explanation.maps[0].argmax()), 224)
    assert int(segments[row, col]) == int(weights.argmax())
    assert float(weights.max()) > 0
