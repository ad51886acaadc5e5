"""utils.model_targets against pytorch-grad-cam's: same scores, same maps end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils import model_targets as ours

theirs = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
pgc = pytest.importorskip("pytorch_grad_cam")
pytest.importorskip("torchvision")

NAMES = [
    "ClassifierOutputTarget",
    "ClassifierOutputSoftmaxTarget",
    "ClassifierOutputReST",
    "BinaryClassifierOutputTarget",
]


@pytest.fixture
def logits() -> torch.Tensor:
    return torch.randn(3, 6, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("category", [0, 1, 4, -1, np.int64(2)])
def test_category_targets_score_like_pgc(logits, name: str, category) -> None:
    mine, reference = getattr(ours, name)(category), getattr(theirs, name)(category)
    for output in (logits[0], logits):  # one image, and a batch
        try:
            expected = reference(output)
        except Exception as error:  # e.g. ReST's cross-entropy rejects -1: so must we
            with pytest.raises(type(error)):
                mine(output)
            continue
        assert torch.equal(mine(output), expected)


def test_vector_targets_like_pgc(logits) -> None:
    assert torch.equal(ours.SoftmaxOutputTarget()(logits), theirs.SoftmaxOutputTarget()(logits))
    assert torch.equal(ours.RawScoresOutputTarget()(logits), theirs.RawScoresOutputTarget()(logits))


def test_targets_are_unrelated_classes_as_in_pgc() -> None:
    assert not isinstance(ours.ClassifierOutputSoftmaxTarget(1), ours.ClassifierOutputTarget)
    assert repr(ours.ClassifierOutputTarget(3)) == "ClassifierOutputTarget(3)"


def test_semantic_segmentation_target_like_pgc() -> None:
    generator = torch.Generator().manual_seed(0)
    output = torch.randn(4, 5, 6, generator=generator)
    mask = (torch.rand(5, 6, generator=generator) > 0.5).numpy().astype(np.float32)
    mine, reference = (
        ours.SemanticSegmentationTarget(2, mask),
        theirs.SemanticSegmentationTarget(2, mask),
    )
    assert torch.equal(mine(output), reference(output))
    assert torch.equal(
        ours.SemanticSegmentationTarget(2, torch.from_numpy(mask))(output), mine(output)
    )


def detections() -> dict[str, torch.Tensor]:
    return {
        "boxes": torch.tensor([[0.0, 0, 10, 10], [5, 5, 20, 20], [30, 30, 40, 45]]),
        "labels": torch.tensor([1, 2, 1]),
        "scores": torch.tensor([0.9, 0.8, 0.7]),
    }


@pytest.mark.parametrize(
    ("labels", "boxes", "threshold"),
    [
        ([1, 2], [[0, 0, 10, 11], [5, 5, 19, 20]], 0.5),  # both match
        ([2], [[0, 0, 10, 10]], 0.5),  # label differs
        ([1], [[0, 0, 30, 30]], 0.5),  # IoU too small
        ([1], [[0, 0, 30, 30]], 0.05),
        ([1, 1], [[30, 30, 40, 44], [0, 1, 10, 10]], 0.5),
    ],
)
def test_fasterrcnn_box_score_target_like_pgc(labels, boxes, threshold) -> None:
    boxes = np.array(boxes, dtype=np.float32)
    mine = ours.FasterRCNNBoxScoreTarget(labels, boxes, threshold)
    reference = theirs.FasterRCNNBoxScoreTarget(labels, boxes, threshold)
    assert torch.equal(mine(detections()), reference(detections()))
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0), "scores": torch.zeros(0)}
    assert torch.equal(mine(empty), reference(empty))


class TinySegmenter(nn.Module):
    """(B, 3, H, W) -> (B, 4 classes, H, W) scores."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1)
        )
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


def test_segmentation_maps_like_pgc() -> None:
    torch.manual_seed(0)
    model, x = TinySegmenter().eval(), torch.randn(2, 3, 12, 10)
    masks = [(torch.rand(12, 10) > 0.6).numpy().astype(np.float32) for _ in range(2)]
    targets = [ours.SemanticSegmentationTarget(c, m) for c, m in zip((1, 3), masks, strict=True)]
    reference = [
        theirs.SemanticSegmentationTarget(c, m) for c, m in zip((1, 3), masks, strict=True)
    ]
    with compat.GradCAM(model, [model.body]) as cam:
        mine = cam(x, targets)
    with pgc.GradCAM(model, [model.body]) as cam:
        expected = cam(x, reference)
    assert np.abs(mine - expected).max() <= 1e-5


def test_binary_classifier_maps_like_pgc() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 1),
    ).eval()
    x = torch.randn(2, 3, 8, 8)
    for categories in ([0, 1], [1, 0]):
        t = [ours.BinaryClassifierOutputTarget(c) for c in categories]
        r = [theirs.BinaryClassifierOutputTarget(c) for c in categories]
        with compat.GradCAM(model, [model[1]]) as cam:
            mine = cam(x, t)
        with pgc.GradCAM(model, [model[1]]) as cam:
            expected = cam(x, r)
        assert np.abs(mine - expected).max() <= 1e-5


class FakeDetector(nn.Module):
    """Like torchvision's Faster R-CNN to a CAM: the backbone returns an OrderedDict of maps, the
    model a list of per-image dicts of boxes, labels and scores."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()

    def forward(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        features = self.backbone(x)
        score = torch.sigmoid(features["0"].mean((1, 2, 3)))
        box = torch.tensor([[0.0, 0, 10, 10]])
        return [{"boxes": box, "labels": torch.tensor([1]), "scores": s[None]} for s in score]


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.conv(x)
        return {"0": out, "pool": nn.functional.max_pool2d(out, 2)}


def test_detection_with_fasterrcnn_target_maps_like_pgc() -> None:
    """A backbone returning a dict of maps (FPN) and a model returning per-image dicts: Eigen-CAM
    (the gradient-free method pgc can run there) gives pgc's map (LAPACK's sign agrees here)."""
    from camlens.compat.pytorch_grad_cam.utils.reshape_transforms import (
        fasterrcnn_reshape_transform,
    )

    torch.manual_seed(0)
    model, x = FakeDetector().eval(), torch.randn(1, 3, 16, 16)
    boxes = np.array([[0.0, 0, 10, 10]], np.float32)
    with pgc.EigenCAM(model, [model.backbone], fasterrcnn_reshape_transform) as cam:
        expected = cam(x, [theirs.FasterRCNNBoxScoreTarget([1], boxes)])
    with compat.EigenCAM(model, [model.backbone], fasterrcnn_reshape_transform) as cam:
        mine = cam(x, [ours.FasterRCNNBoxScoreTarget([1], boxes)])
    assert mine.shape == expected.shape == (1, 16, 16)
    assert mine.max() > 0.99 and np.abs(mine - expected).max() <= 1e-5
