"""Detection targets: box matching by hand, a hand-built YOLO head, torchvision detectors.

The torchvision detectors (Faster R-CNN, RetinaNet, FCOS) have random weights on a small CNN
with a 64-channel FPN and 64-pixel inputs (``min_size=max_size=64``: no resizing, no padding), score
thresholds at 0 so there are boxes to explain.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

import camlens
from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.gradcam import GradCAM
from camlens.methods.hirescam import HiResCAM
from camlens.targets.detection import (
    BoxTarget,
    PaddedDetections,
    YOLOTarget,
    box_iou,
    fpn_layers,
    pad_detections,
    unpad_detections,
)

torchvision = pytest.importorskip("torchvision")
from torchvision.models import detection as tv_detection  # noqa: E402
from torchvision.models.detection.backbone_utils import BackboneWithFPN  # noqa: E402
from torchvision.ops.feature_pyramid_network import LastLevelP6P7  # noqa: E402

SIZE = 64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Detection/segmentation networks run many tiny ops: on a busy 2-core machine, a second
    intra-op thread mostly spins. One thread here; the previous setting is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# Hand-made detections of one image: boxes A (label 1), B (label 2), C (label 1).
DETECTIONS = {
    "boxes": torch.tensor(
        [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 12.0], [20.0, 20.0, 30.0, 30.0]]
    ),
    "labels": torch.tensor([1, 2, 1]),
    "scores": torch.tensor([0.9, 0.8, 0.7]),
}


def _backbone(p6p7: bool) -> nn.Module:
    """A small random CNN (strides 4, 8, 16, 32) under torchvision's FPN, 64 channels."""

    def block(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU())

    widths = [8, 16, 16, 32]
    body = nn.Sequential(
        OrderedDict(
            stem=block(3, 8),
            **{f"layer{k + 1}": block(([8, *widths])[k], widths[k]) for k in range(4)},
        )
    )
    if p6p7:  # RetinaNet / FCOS: levels P3-P5 plus P6, P7
        layers, extra = [2, 3, 4], LastLevelP6P7(64, 64)
    else:  # Faster R-CNN: P2-P5 (plus the functional "pool" level)
        layers, extra = [1, 2, 3, 4], None
    return BackboneWithFPN(
        body,
        {f"layer{k}": str(i) for i, k in enumerate(layers)},
        [widths[k - 1] for k in layers],
        64,
        extra,
    )


def _detector(kind: str) -> nn.Module:
    torch.manual_seed(0)
    common = {"num_classes": 3, "min_size": SIZE, "max_size": SIZE}
    if kind == "fasterrcnn":
        model = tv_detection.FasterRCNN(
            _backbone(p6p7=False),
            rpn_pre_nms_top_n_test=50,
            rpn_post_nms_top_n_test=20,
            box_detections_per_img=10,
            box_score_thresh=0.0,
            **common,
        )
    else:
        cls = tv_detection.RetinaNet if kind == "retinanet" else tv_detection.FCOS
        model = cls(
            _backbone(p6p7=True),
            score_thresh=0.0,
            detections_per_img=10,
            topk_candidates=20,
            **common,
        )
    return model.eval()


@pytest.fixture(scope="module", params=["fasterrcnn", "retinanet", "fcos"])
def detector(request) -> tuple[str, nn.Module, torch.Tensor]:
    torch.manual_seed(1)
    return request.param, _detector(request.param), torch.rand(1, 3, SIZE, SIZE)


def _two_distinct_boxes(det: torch.Tensor) -> tuple[int, int]:
    """Indices of two detections with positive area and IoU < 0.5 (so they never match)."""
    rows = det[det[:, 5] >= 0]
    area = (rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1])
    ok = (area > 1).nonzero().flatten().tolist()
    ious = box_iou(rows[:, :4], rows[:, :4])
    for i in ok:
        for j in ok:
            if i < j and ious[i, j] < 0.5:
                return i, j
    raise AssertionError("no two distinct boxes")


# --- box matching by hand ----------------------------------------------------------------------
def test_box_iou_equals_torchvision_and_handles_empty_boxes():
    torch.manual_seed(0)
    a = torch.rand(5, 2) * 20
    a = torch.cat([a, a + torch.rand(5, 2) * 20 + 1], dim=1)
    b = torch.cat([a[:3] + 2.0, torch.tensor([[0.0, 0.0, 50.0, 50.0]])])
    torch.testing.assert_close(box_iou(a, b), torchvision.ops.box_iou(a, b))
    # [0,0,10,10] vs [0,0,10,12]: 100 / 120
    torch.testing.assert_close(box_iou(DETECTIONS["boxes"][:1], DETECTIONS["boxes"][1:2]),
                               torch.tensor([[100 / 120]]))  # fmt: skip
    point = torch.tensor([[5.0, 5.0, 5.0, 5.0]])
    assert box_iou(point, point).item() == 1.0  # torchvision: NaN
    assert box_iou(point, point + 1).item() == 0.0


def test_box_target_sums_the_best_same_label_match():
    # reference A: both A (IoU 1) and C (0) have label 1 -> A's score 0.9
    # reference [0,0,10,11] label 2: B, IoU 110/120 -> 0.8
    target = BoxTarget([1, 2], [[0, 0, 10, 10], [0, 0, 10, 11]])
    torch.testing.assert_close(target(DETECTIONS), torch.tensor(0.9 + 0.8))
    # label 2 at box A: the best label-2 box is B with IoU 100/120 >= 0.5 -> 0.8
    torch.testing.assert_close(BoxTarget([2], [[0, 0, 10, 10]])(DETECTIONS), torch.tensor(0.8))
    # below the threshold: nothing matches -> 0
    far = BoxTarget([1], [[40, 40, 50, 50]])
    assert far(DETECTIONS).item() == 0.0
    # the IoU threshold is inclusive: C shifted by 5 px -> IoU 50 / 150 = 1/3
    torch.testing.assert_close(
        BoxTarget([1], [[25, 20, 35, 30]], iou_threshold=1 / 3)(DETECTIONS), torch.tensor(0.7)
    )
    assert BoxTarget([1], [[25, 20, 35, 30]], iou_threshold=0.34)(DETECTIONS).item() == 0.0


def test_box_target_pytorch_grad_cam_mode_equals_theirs():
    from pytorch_grad_cam.utils.model_targets import FasterRCNNBoxScoreTarget

    cases = [
        ([1, 2], [[0, 0, 10, 10], [0, 0, 10, 11]]),
        ([2], [[0, 0, 10, 10]]),  # best IoU over all labels is A (label 1): pgc gives 0
        ([1], [[20, 21, 30, 30]]),
        ([1], [[40, 40, 50, 50]]),
    ]
    for labels, boxes in cases:
        theirs = FasterRCNNBoxScoreTarget(labels, torch.tensor(boxes, dtype=torch.float32))
        mine = BoxTarget(labels, boxes, match="iou", include_iou=True)
        torch.testing.assert_close(mine(DETECTIONS), theirs(DETECTIONS).reshape(()))
    # where the two rules differ: same-label match vs best IoU over all labels
    assert BoxTarget([2], [[0, 0, 10, 10]], match="iou")(DETECTIONS).item() == 0.0
    torch.testing.assert_close(BoxTarget([2], [[0, 0, 10, 10]])(DETECTIONS), torch.tensor(0.8))


def test_box_target_reads_padded_rows_and_keeps_the_graph_without_match():
    scores = DETECTIONS["scores"].clone().requires_grad_(True)
    dets = [dict(DETECTIONS, scores=scores), {k: v[:1] for k, v in DETECTIONS.items()}]
    batch = pad_detections(dets)
    assert batch.shape == (2, 3, 6)
    assert batch[1, 1:, 5].tolist() == [-1.0, -1.0]  # padding rows
    target = BoxTarget([1, 2], [[0, 0, 10, 10], [0, 0, 10, 11]])
    torch.testing.assert_close(target(batch[0]), target(DETECTIONS))
    torch.testing.assert_close(target(batch[1]), torch.tensor(0.9))  # B is not in image 1
    back = unpad_detections(batch.detach())
    assert back[1]["labels"].tolist() == [1] and back[0]["boxes"].shape == (3, 4)
    none = BoxTarget([1], [[40, 40, 50, 50]])(batch[0])
    assert none.item() == 0.0 and none.requires_grad  # a zero map, not "layer not reached"
    picked = BoxTarget.from_detections(DETECTIONS, [2])
    assert picked.labels.tolist() == [1] and picked.boxes.tolist() == [[20, 20, 30, 30]]


def test_box_target_rejects_bad_input():
    with pytest.raises(camlens.TargetError, match="one label per box"):
        BoxTarget([1, 2], [[0, 0, 1, 1]])
    with pytest.raises(camlens.TargetError, match=r"\(K, 4\)"):
        BoxTarget([1], [[0, 0, 1]])
    with pytest.raises(camlens.TargetError, match="match"):
        BoxTarget([1], [[0, 0, 1, 1]], match="nearest")
    with pytest.raises(camlens.TargetError, match="YOLOTarget"):
        BoxTarget([1], [[0, 0, 1, 1]])(torch.zeros(4, 8))
    with pytest.raises(camlens.TargetError, match="scores"):
        BoxTarget([1], [[0, 0, 1, 1]])({"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)})


# --- a hand-built YOLO head --------------------------------------------------------------------
class TinyYOLO(nn.Module):
    """Features = the input ``(B, 2, 4, 4)``; a 1x1 head: each of the 16 cells is one anchor with
    logits ``[0, 0, 0, 0, obj = x0 + x1, c0 = x0, c1 = x1]``; output ``(B, 16, 7)`` (cell i·4+j)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.head = nn.Conv2d(2, 7, 1, bias=False)
        weight = torch.zeros(7, 2, 1, 1)
        weight[4, :, 0, 0] = torch.tensor([1.0, 1.0])
        weight[5, 0, 0, 0] = 1.0
        weight[6, 1, 0, 0] = 1.0
        self.head.weight.data.copy_(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten(2).transpose(1, 2)


def test_yolo_target_scores_and_maps_by_hand():
    torch.manual_seed(0)
    x = torch.rand(1, 2, 4, 4) - 0.5
    x[0, :, 1, 2] = torch.tensor([2.0, 1.0])  # the strongest cell: anchor 1·4 + 2 = 6
    model = TinyYOLO().eval()
    out = model(x)[0]
    sig = torch.sigmoid
    target = YOLOTarget(6, category=1, sigmoid=True)
    expected = sig(torch.tensor(3.0)) * sig(torch.tensor(1.0))  # σ(obj) · σ(c1)
    torch.testing.assert_close(target(out), expected)
    # without sigmoid the raw columns are multiplied; category None takes the best class
    torch.testing.assert_close(YOLOTarget([6], None)(out), torch.tensor(3.0 * 2.0))
    two = YOLOTarget([6, 0], 0, sigmoid=True)
    torch.testing.assert_close(two(out), two.anchor_scores(out).sum())
    assert YOLOTarget.best(out, k=1, category=1, sigmoid=True).anchors.tolist() == [6]

    # HiResCAM: map = Σ_k G_k ⊙ A_k, and the score depends only on anchor 6's cell.
    # s = σ(x0 + x1)·σ(x1): ds/dx0 = σ'(3)σ(1), ds/dx1 = σ'(3)σ(1) + σ(3)σ'(1)
    e = HiResCAM(model, "features").explain(x, [target])
    d_obj = sig(torch.tensor(3.0)) * (1 - sig(torch.tensor(3.0))) * sig(torch.tensor(1.0))
    d_c1 = sig(torch.tensor(3.0)) * sig(torch.tensor(1.0)) * (1 - sig(torch.tensor(1.0)))
    raw = torch.zeros(1, 4, 4)
    raw[0, 1, 2] = 2.0 * d_obj + 1.0 * (d_obj + d_c1)
    torch.testing.assert_close(e.raw["features"], raw)
    torch.testing.assert_close(e.scores, expected[None])
    # Grad-CAM: α = G averaged over the 16 cells, map = ReLU(Σ_k α_k A_k)
    g = GradCAM(model, "features").explain(x, [target])
    alpha = torch.stack([d_obj, d_obj + d_c1]) / 16
    torch.testing.assert_close(
        g.raw["features"][0], torch.relu((alpha[:, None, None] * x[0]).sum(0))
    )


def test_yolo_target_rejects_bad_output():
    with pytest.raises(camlens.TargetError, match="5 \\+ classes"):
        YOLOTarget(0)(torch.zeros(3, 5))
    with pytest.raises(camlens.TargetError, match="out of range"):
        YOLOTarget(7)(torch.zeros(3, 7))
    with pytest.raises(camlens.TargetError, match="category 2"):
        YOLOTarget(0, category=2)(torch.zeros(3, 7))


# --- torchvision detectors ---------------------------------------------------------------------
def test_fpn_layers_name_each_level(detector):
    kind, model, _ = detector
    names = fpn_layers(PaddedDetections(model))
    levels = [
        f"model.backbone.fpn.layer_blocks.{i}" for i in range(4 if kind == "fasterrcnn" else 3)
    ]
    extra = [] if kind == "fasterrcnn" else ["model.backbone.fpn.extra_blocks.p6",
                                              "model.backbone.fpn.extra_blocks.p7"]  # fmt: skip
    assert names == levels + extra
    with pytest.raises(camlens.LayerNotFoundError, match="FeaturePyramidNetwork"):
        fpn_layers(nn.Conv2d(3, 3, 1))


def test_gradcam_maps_of_two_boxes_differ(detector):
    _, model, x = detector
    wrapped = PaddedDetections(model)
    with torch.no_grad():
        det = wrapped(x)[0]
    a, b = _two_distinct_boxes(det)
    cam = GradCAM(wrapped, fpn_layers(wrapped))
    ea, eb = cam.explain_targets(
        x, [BoxTarget.from_detections(det, a), BoxTarget.from_detections(det, b)]
    )
    for e, i in ((ea, a), (eb, b)):
        assert e.maps.shape == (1, SIZE, SIZE)
        assert bool(torch.isfinite(e.maps).all()) and 0 <= e.maps.min() <= e.maps.max() <= 1
        torch.testing.assert_close(e.scores, det[i, 4:5])  # the detection's own score
        assert e.maps.max() == 1.0
    assert (ea.maps - eb.maps).abs().max() > 0.1


def test_gradcam_on_faster_rcnn_equals_pytorch_grad_cam():
    from pytorch_grad_cam import GradCAM as TheirGradCAM
    from pytorch_grad_cam.utils.model_targets import FasterRCNNBoxScoreTarget

    model = _detector("fasterrcnn")
    torch.manual_seed(2)
    x = torch.rand(1, 3, SIZE, SIZE)
    with torch.no_grad():
        det = model(x)[0]
    boxes, labels = det["boxes"][[1]], det["labels"][[1]].tolist()
    layer = model.backbone.fpn.layer_blocks[0]
    theirs = TheirGradCAM(model, [layer])(x, targets=[FasterRCNNBoxScoreTarget(labels, boxes)])

    class PgcGradCAM(GradCAM):
        fuse = staticmethod(fuse_pytorch_grad_cam)

    target = BoxTarget(labels, boxes, match="iou", include_iou=True)
    mine = PgcGradCAM(PaddedDetections(model), [layer]).explain(x, [target])
    torch.testing.assert_close(mine.scores, det["scores"][1:2] + 1.0)  # IoU 1 + score
    torch.testing.assert_close(mine.maps, torch.from_numpy(theirs), atol=1e-5, rtol=0)


def test_padded_detections_warn_when_the_detector_pads():
    model = _detector("fasterrcnn")
    model.transform.min_size, model.transform.max_size = (60,), 60
    with pytest.warns(UserWarning, match="padded its input"):
        out = PaddedDetections(model)(torch.rand(1, 3, 60, 60))
    assert out.ndim == 3 and out.shape[2] == 6


def _core_takes_list_outputs() -> bool:
    from camlens.core.capture import model_logits

    try:
        model_logits([{"boxes": torch.zeros(0, 4)}])
    except camlens.TargetError:
        return False
    return True


@pytest.mark.skipif(
    not _core_takes_list_outputs(), reason="the core does not yet take list-of-dict outputs"
)
def test_plain_detector_equals_the_padded_one():
    model = _detector("fasterrcnn")
    torch.manual_seed(3)
    x = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        det = model(x)
    targets = [BoxTarget.from_detections(det[i], 0) for i in range(2)]
    plain = GradCAM(model, fpn_layers(model)).explain(x, targets)
    wrapped = PaddedDetections(model)
    padded = GradCAM(wrapped, fpn_layers(wrapped)).explain(x, targets)
    torch.testing.assert_close(plain.scores, torch.stack([d["scores"][0] for d in det]))
    torch.testing.assert_close(plain.maps, padded.maps)
    assert isinstance(plain.outputs, list) and plain.outputs[0]["boxes"].shape[1] == 4
    with pytest.raises(camlens.TargetError, match="targets"):
        GradCAM(model, fpn_layers(model))(x)
