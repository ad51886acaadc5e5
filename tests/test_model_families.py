"""Any model: Grad-CAM and Score-CAM on each model family, plus N-D upsampling by hand.

``test_family`` runs both methods on a small model of each family (classification CNN, ViT,
detection, segmentation, embedding, 1-D signal, 3-D volume) and checks the shapes, the [0, 1]
range, that nothing is NaN, and one fact that holds for that model by construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from tiny_models import SmallCNN
from torch import nn

import camlens
from camlens.core.base import Explanation
from camlens.methods.gradcam import GradCAM
from camlens.methods.scorecam import ScoreCAM
from camlens.targets.detection import BoxTarget, PaddedDetections
from camlens.targets.embedding import SimilarityTarget
from camlens.targets.segmentation import SegmentationTarget

METHODS = {"gradcam": GradCAM, "scorecam": ScoreCAM}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small networks of many tiny ops: on a busy 2-core machine, a second intra-op thread
    mostly spins. One thread here; the previous setting is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@dataclass
class Case:
    model: nn.Module
    x: torch.Tensor
    layer: str
    targets: list
    fact: Callable[[Explanation, str], None]  # (explanation, method name) -> asserts


# --- classification CNN ------------------------------------------------------------------------
def cnn() -> Case:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    x = torch.randn(2, 3, 16, 16)

    def fact(e: Explanation, method: str) -> None:
        if method != "gradcam":
            return
        # GAP + linear head: α_k = w_ck / Z, so Grad-CAM is CAM / Z (Grad-CAM paper, sec. 3.1)
        with torch.no_grad():
            features = model.relu3(
                model.conv3(model.relu2(model.conv2(model.relu1(model.conv1(x)))))
            )
        weights = model.fc.weight[3]
        cam = torch.einsum("k,bkij->bij", weights, features) / features[0, 0].numel()
        torch.testing.assert_close(e.raw["relu3"], torch.relu(cam))

    return Case(model, x, "relu3", [camlens.ClassTarget(3)], fact)


# --- ViT whose class token attends to one patch only -------------------------------------------
PATCH = 6  # patch (row 1, column 2) of the 4x4 grid


def vit() -> Case:
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=1, num_heads=1, hidden_dim=16, mlp_dim=32,
        num_classes=2,
    ).eval()  # fmt: skip
    e = torch.eye(16)
    u, v = e[0] - e[1], e[2] - e[3]
    block = model.encoder.layers[0]
    with torch.no_grad():
        # tokens: patch content (tiny) + position. After ln_1 the target patch is ≈ +√8·u, the
        # other patches ≈ -√8·u and the class token ≈ √8·v.
        model.conv_proj.weight.mul_(0.01)
        model.conv_proj.bias.zero_()
        pos = -10.0 * u.repeat(17, 1)
        pos[0] = 0.0
        pos[1 + PATCH] = 10.0 * u
        model.encoder.pos_embedding.copy_(pos[None])
        model.class_token.copy_(10.0 * v[None, None])
        # q_cls = 10·u, k = token, v = token: the class token's logits are ±10·√8·2/4 ≈ ±14 for
        # the target patch / the others, so it attends to the target patch only (weight 1 - 1e-6)
        w_q = 10.0 / (2 * math.sqrt(8)) * torch.outer(u, v)
        block.self_attention.in_proj_weight.copy_(torch.cat([w_q, e, e]))
        block.self_attention.in_proj_bias.zero_()
        block.self_attention.out_proj.weight.copy_(e)
        block.self_attention.out_proj.bias.zero_()
        for p in block.mlp.parameters():
            p.zero_()
        model.heads.head.weight.copy_(torch.stack([e[0], e[1]]))
        model.heads.head.bias.zero_()
    x = torch.rand(1, 3, 32, 32)

    def fact(e: Explanation, method: str) -> None:
        if method != "gradcam":
            return
        # only the target patch's value reaches the class score: G ≈ 0 elsewhere, and the map
        # α·A_j = (G_target·A_j)/16 is positive at the target and negative at the others
        raw = e.raw["encoder.layers.encoder_layer_0.ln_1"][0]
        assert raw.shape == (4, 4)
        assert raw.flatten()[PATCH] > 0
        others = torch.cat([raw.flatten()[:PATCH], raw.flatten()[PATCH + 1 :]])
        assert torch.equal(others, torch.zeros(15))
        # bilinear spreads the patch's cell by half a cell: the block of patch pixels keeps at
        # least (0.5625 / 0.9375)² = 0.36 of the peak; columns 0-7 (cell 0) stay 0
        assert e.maps[0, 8:16, 16:24].min() > 0.35 and e.maps[0, :, :8].max() == 0

    return Case(model, x, "encoder.layers.encoder_layer_0.ln_1", [camlens.ClassTarget(0)], fact)


# --- detection: a torchvision Faster R-CNN on an 8-channel backbone ----------------------------
def detection() -> Case:
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4, padding=1), nn.ReLU())
    backbone.out_channels = 8
    model = FasterRCNN(
        backbone,
        num_classes=None,
        min_size=64,
        max_size=64,
        rpn_anchor_generator=AnchorGenerator(sizes=((16, 32),), aspect_ratios=((1.0,),)),
        box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
        box_head=TwoMLPHead(8 * 7 * 7, 32),
        box_predictor=FastRCNNPredictor(32, 3),
        rpn_pre_nms_top_n_test=30,
        rpn_post_nms_top_n_test=10,
        box_detections_per_img=5,
        box_score_thresh=0.0,
    ).eval()
    wrapped = PaddedDetections(model)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        det = wrapped(x)[0]
    target = BoxTarget.from_detections(det, 0)

    def fact(e: Explanation, method: str) -> None:
        # the explained score is the box's detection score (from the same forward pass)
        torch.testing.assert_close(e.scores, det[0, 4:5])
        assert e.raw["model.backbone.0"].shape == (1, 16, 16)

    return Case(wrapped, x, "model.backbone.0", [target], fact)


# --- segmentation: a small U-Net ---------------------------------------------------------------
class TinyUNet(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.bottleneck = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(width, width, 3, padding=1))
        self.up = nn.Upsample(scale_factor=2)
        self.dec = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(width, 2, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        skip = self.enc(x)
        out = self.head(self.dec(torch.cat([skip, self.up(self.bottleneck(skip))], dim=1)))
        return {"out": out}  # like torchvision's segmentation models


def segmentation() -> Case:
    torch.manual_seed(0)
    model = TinyUNet().eval()
    x = torch.rand(2, 3, 16, 16)
    mask = torch.zeros(16, 16)
    mask[4:8, 8:12] = 1.0

    def fact(e: Explanation, method: str) -> None:
        # the score is class 1's logits summed over the mask
        with torch.no_grad():
            expected = (model(x)["out"][:, 1] * mask).sum(dim=(1, 2))
        torch.testing.assert_close(e.scores, expected)

    return Case(model, x, "dec", [SegmentationTarget(1, mask)], fact)


# --- embedding: the CNN without its classifier -------------------------------------------------
def embedding() -> Case:
    torch.manual_seed(0)
    model = SmallCNN()
    model.fc = nn.Identity()
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        embeddings = model(x)
    targets = [SimilarityTarget(embeddings[1]), SimilarityTarget(embeddings[1])]

    def fact(e: Explanation, method: str) -> None:
        # image 1 against its own embedding: similarity 1; image 0: the cosine of the two
        cos = torch.cosine_similarity(embeddings[0], embeddings[1], dim=0)
        torch.testing.assert_close(e.scores, torch.stack([cos, torch.tensor(1.0)]))

    return Case(model, x, "relu3", targets, fact)


# --- 1-D and 3-D: positive convolutions see a bump --------------------------------------------
class PositiveConvNet(nn.Module):
    """conv (kernel 2, stride 2, positive weights, no bias) -> ReLU -> global mean -> linear with
    positive weights. For a non-negative input, every channel is a positive multiple of the
    pooled input, so every map is zero exactly where the input is zero."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        conv = {1: nn.Conv1d, 3: nn.Conv3d}[dims]
        self.conv = conv(1, 4, 2, stride=2, bias=False)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 2)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.weight.mul_(torch.arange(1.0, 5.0).view(4, *[1] * (dims + 1)))
            self.fc.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]]))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu(self.conv(x)).flatten(2).mean(2))


def signal_1d() -> Case:
    model = PositiveConvNet(1).eval()
    x = torch.zeros(2, 1, 64)
    x[0, 0, 20:28] = torch.linspace(0.5, 1.0, 8)  # layer cells 10..13
    x[1, 0, 40:44] = 1.0  # cells 20, 21

    def fact(e: Explanation, method: str) -> None:
        raw = e.raw["conv"]
        assert raw.shape == (2, 32)
        for i, (start, stop) in enumerate([(10, 14), (20, 22)]):
            assert bool((raw[i, start:stop] > 0).all())
            assert raw[i].count_nonzero() == stop - start
            assert start * 2 <= int(e.maps[i].argmax()) < stop * 2

    return Case(model, x, "conv", [camlens.ClassTarget(0)], fact)


def volume_3d() -> Case:
    model = PositiveConvNet(3).eval()
    x = torch.zeros(1, 1, 8, 8, 8)
    x[0, 0, 4:6, 2:4, 6:8] = 1.0  # layer cell (2, 1, 3)

    def fact(e: Explanation, method: str) -> None:
        raw = e.raw["conv"][0]
        assert raw.shape == (4, 4, 4)
        assert raw[2, 1, 3] > 0 and raw.count_nonzero() == 1
        # trilinear upsampling (x2, no corner alignment) of one cell is the outer product of
        # 1-D ramps: output pixel p reads source position p/2 - 0.25 (clamped to [0, 3])
        depth = torch.tensor([0, 0, 0, 0.25, 0.75, 0.75, 0.25, 0])  # cell 2
        rows = torch.tensor([0, 0.25, 0.75, 0.75, 0.25, 0, 0, 0])  # cell 1
        cols = torch.tensor([0, 0, 0, 0, 0, 0.25, 0.75, 1.0])  # cell 3, the last: clamped
        up = depth[:, None, None] * rows[None, :, None] * cols[None, None, :]
        torch.testing.assert_close(e.maps[0], up / up.max())

    return Case(model, x, "conv", [camlens.ClassTarget(0)], fact)


FAMILIES = {
    "cnn": cnn,
    "vit": vit,
    "detection": detection,
    "segmentation": segmentation,
    "embedding": embedding,
    "signal_1d": signal_1d,
    "volume_3d": volume_3d,
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family(family):
    case = FAMILIES[family]()
    for name, method in METHODS.items():
        e = method(case.model, case.layer).explain(case.x, case.targets)
        assert e.maps.shape == (case.x.shape[0], *case.x.shape[2:]), name
        assert e.maps.dtype == torch.float32
        assert bool(torch.isfinite(e.maps).all()), name
        assert float(e.maps.min()) >= 0.0 and float(e.maps.max()) <= 1.0, name
        for raw in e.raw.values():
            assert bool(torch.isfinite(raw).all()) and float(raw.min()) >= 0, name
        assert e.scores.shape == (case.x.shape[0],)
        case.fact(e, name)


# --- N-D upsampling by hand ---------------------------------------------------------------------
class PooledReadout(nn.Module):
    """features = average pool (kernel 2) of the input; score = Σ W · features."""

    def __init__(self, pool: nn.Module, weight: torch.Tensor) -> None:
        super().__init__()
        self.features = pool
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.features(x) * self.weight).flatten(1).sum(1, keepdim=True)


# linear interpolation of [0, 1] to 4 samples, no corner alignment: source positions
# -0.25, 0.25, 0.75, 1.25 (clamped to the ends) -> 0, 0.25, 0.75, 1
RAMP = torch.tensor([0.0, 0.25, 0.75, 1.0])


def test_1d_map_is_upsampled_linearly():
    x = torch.tensor([[[0.0, 0.0, 1.0, 1.0], [5.0, 1.0, 0.0, 2.0]]])  # pooled: [0, 1], [3, 1]
    weight = torch.tensor([[1.0, 1.0], [0.0, 0.0]])  # α = (1, 0): the map is channel 0
    model = PooledReadout(nn.AvgPool1d(2), weight).eval()
    e = GradCAM(model, "features").explain(x, [camlens.ClassTarget(0)])
    torch.testing.assert_close(e.raw["features"], torch.tensor([[0.0, 1.0]]))
    torch.testing.assert_close(e.maps, RAMP[None])


def test_3d_map_is_upsampled_trilinearly():
    x = torch.zeros(1, 1, 4, 4, 4)
    x[0, 0, 2:] += 1.0  # pooled: depth index d
    x[0, 0, :, 2:] += 1.0  # + row index h
    model = PooledReadout(nn.AvgPool3d(2), torch.ones(1, 2, 2, 2)).eval()
    e = GradCAM(model, "features").explain(x, [camlens.ClassTarget(0)])
    d = torch.tensor([0.0, 1.0])
    torch.testing.assert_close(
        e.raw["features"][0], (d[:, None, None] + d[None, :, None]).expand(2, 2, 2)
    )
    # interpolation is linear: up(d + h) = up(d) + up(h); min-max divides by 2
    expected = (RAMP[:, None, None] + RAMP[None, :, None]).expand(4, 4, 4) / 2
    torch.testing.assert_close(e.maps[0], expected)
