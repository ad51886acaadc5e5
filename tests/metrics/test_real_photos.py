"""Real photos, real ImageNet MobileNetV2: Grad-CAM beats a random map on deletion, insertion
and ROAD, and a class-blind method (Eigen-CAM) fails the random-logit test."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import camlens
from camlens.metrics import ROAD, Deletion, Insertion, SanityRandomLogit
from camlens.pretrained import INSTALL_COMMAND, packaged_checkpoint
from camlens.zoo import shared_data_dir

torch.set_num_threads(1)
PHOTOS = shared_data_dir("photos")
pytestmark = [
    pytest.mark.skipif(
        PHOTOS is None,
        reason="../shared/data/photos (or $CAMLENS_SHARED_DATA/photos) is absent",
    ),
    pytest.mark.skipif(
        packaged_checkpoint() is None,
        reason=f"the MobileNetV2 checkpoint is not installed ({INSTALL_COMMAND})",
    ),
]


@pytest.fixture(scope="module")
def case():
    from PIL import Image

    from camlens.pretrained import imagenet_preprocess, mobilenet_v2_imagenet

    files = [PHOTOS / "both.png", PHOTOS / "dogs.png"]
    x = torch.cat([imagenet_preprocess(Image.open(f)).tensor for f in files])
    model = mobilenet_v2_imagenet(download=False)
    with torch.inference_mode():
        classes = model(x).argmax(dim=1)
    gradcam = camlens.GradCAM(model, "features.18")(x, targets=classes)
    noise = torch.rand(len(x), 1, 7, 7, generator=torch.Generator().manual_seed(0))
    random = F.interpolate(noise, (224, 224), mode="bilinear")[:, 0]
    return model, x, classes, gradcam, random


@pytest.mark.parametrize("cls", [Deletion, Insertion])
def test_grad_cam_beats_a_random_map_on_deletion_and_insertion(case, cls) -> None:
    model, x, classes, gradcam, random = case
    scores = []
    for maps in (gradcam, random):
        metric = cls(steps=8, batch_size=18)
        metric.update(inputs=x, maps=maps, targets=classes, model=model)
        scores.append(metric.compute())
    better, worse = scores if metric.higher_is_better else scores[::-1]
    assert better > worse + 0.1  # measured: deletion 0.08 vs 0.27, insertion 0.52 vs 0.24


def test_grad_cam_beats_a_random_map_on_road(case) -> None:
    model, x, classes, gradcam, random = case
    scores = []
    for maps in (gradcam, random):
        metric = ROAD(percentiles=(30, 70), seed=0)
        metric.update(inputs=x[:1], maps=maps[:1], targets=classes[:1], model=model)
        scores.append(metric.compute())
    assert scores[0] > scores[1] + 0.1  # measured: 0.37 vs -0.05


def test_eigencam_is_class_blind(case) -> None:
    model, x, classes, _, _ = case
    maps = camlens.EigenCAM(model, "features.18")(x)
    metric = SanityRandomLogit("eigencam", {"target_layers": "features.18"})
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    assert metric.compute() == pytest.approx(1.0)
