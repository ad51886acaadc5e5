"""Acceptance: the real ImageNet MobileNetV2 sees a cat in chelsea, and Grad-CAM looks at the cat.

The boxes below were drawn by hand on the 224x224 crop that ``imagenet_preprocess`` makes of
``skimage.data.chelsea()`` (saved as PNG and looked at with a 16-pixel grid over it).
Boxes are ``(x0, y0, x1, y1)`` in pixels, x = column, y = row, end exclusive.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from camlens import GradCAM
from camlens.pretrained import (
    INSTALL_COMMAND,
    imagenet_categories,
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

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat
# The cat: the centre crop is all cat, ear to chin and cheek to cheek (no background left).
CAT_BOX = (0, 0, 224, 224)
# Its face: from the outer corner of the left eye (x 33) to that of the right eye (x 212), from
# the top of the eyes (y 57) down to the mouth at the bottom edge.
FACE_BOX = (32, 56, 213, 224)
# Nose, mouth and whisker pads: the nose spans x 128-168, y 176-210; the pads reach x 64-208.
MUZZLE_BOX = (64, 144, 208, 224)


def inside(box: tuple[int, int, int, int], row: int, col: int) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= col < x1 and y0 <= row < y1


def peak(cam: torch.Tensor) -> tuple[int, int]:
    """(row, col) of the map's maximum."""
    row, col = divmod(int(cam.argmax()), cam.shape[-1])
    return row, col


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return mobilenet_v2_imagenet()


@pytest.fixture(scope="module")
def chelsea() -> tuple[torch.Tensor, np.ndarray]:
    prepared = imagenet_preprocess(skimage_data.chelsea())
    return prepared.tensor, prepared.image


def test_chelsea_is_classified_as_a_cat(model, chelsea):
    x, _ = chelsea
    with torch.no_grad():
        logits = model(x)
    top1 = int(logits.argmax())
    assert top1 in CAT_CLASSES, f"top-1 is {imagenet_categories()[top1]!r} ({top1})"


def test_gradcam_peak_lies_on_the_cat(model, chelsea):
    x, crop = chelsea
    assert crop.shape == (224, 224, 3)
    with GradCAM(model, target_layers="features.18") as cam:
        explanation = cam.explain(x)  # top-1 class
    assert int(explanation.targets[0].category) in CAT_CLASSES
    maps = explanation.maps[0]
    assert maps.shape == (224, 224)
    row, col = peak(maps)
    assert inside(CAT_BOX, row, col)
    assert inside(FACE_BOX, row, col), f"peak at row {row}, col {col}"
    assert inside(MUZZLE_BOX, row, col), f"peak at row {row}, col {col}"
    # not just the peak: the muzzle holds more of the map than the rest of the crop
    x0, y0, x1, y1 = MUZZLE_BOX
    in_box = torch.zeros_like(maps, dtype=torch.bool)
    in_box[y0:y1, x0:x1] = True
    assert maps[in_box].mean() > maps[~in_box].mean() + 0.2


def test_top3_are_all_cats_and_each_map_peaks_on_the_face(model, chelsea):
    x, _ = chelsea
    with GradCAM(model, target_layers="features.18") as cam:
        top = cam.topk(x, k=3)
    assert all(int(c) in CAT_CLASSES for c in top.indices[0]), top.indices
    assert float(top.probabilities[0].sum()) > 0.9
    for k in range(3):
        row, col = peak(top.maps[0, k])
        assert inside(FACE_BOX, row, col), f"top-{k + 1} peaks at row {row}, col {col}"
