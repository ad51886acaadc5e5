"""pytorch-grad-cam's Faster R-CNN tutorial flow (Ablation-CAM with AblationLayerFasterRCNN on
a detector's FPN backbone) run with only the import prefix changed: the same maps as
pytorch-grad-cam (issue #12, items 15 and 16). Random weights, small images, few channels."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

pytest.importorskip("pytorch_grad_cam")
torchvision = pytest.importorskip("torchvision")
from torchvision.models.detection import FasterRCNN  # noqa: E402
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone  # noqa: E402

SMALL = {"min_size": 96, "max_size": 96, "box_score_thresh": 0.0, "rpn_post_nms_top_n_test": 50}


def tutorial(prefix: str, model: torch.nn.Module, x: torch.Tensor, ratio: float, layer=None):
    """The tutorial's cells, with ``from <prefix>... import ...``: detect, keep the best boxes,
    explain them with Ablation-CAM on the backbone, overlay the map on the image."""
    AblationCAM = importlib.import_module(prefix).AblationCAM
    ablation_layer = importlib.import_module(f"{prefix}.ablation_layer")
    targets_module = importlib.import_module(f"{prefix}.utils.model_targets")
    reshape = importlib.import_module(f"{prefix}.utils.reshape_transforms")
    show_cam_on_image = importlib.import_module(f"{prefix}.utils.image").show_cam_on_image

    with torch.no_grad():
        outputs = model(x)[0]
    keep = outputs["scores"] >= outputs["scores"].max() * 0.999
    boxes = outputs["boxes"][keep].numpy()
    labels = outputs["labels"][keep].tolist()
    targets = [targets_module.FasterRCNNBoxScoreTarget(labels=labels, bounding_boxes=boxes)]
    cam = AblationCAM(
        model,
        [model.backbone],
        reshape_transform=reshape.fasterrcnn_reshape_transform,
        ablation_layer=(layer or ablation_layer.AblationLayerFasterRCNN)(),
        ratio_channels_to_ablate=ratio,
    )
    grayscale_cam = cam(x, targets=targets)[0, :]
    image = x[0].permute(1, 2, 0).numpy().astype(np.float32)
    overlay = show_cam_on_image(image, grayscale_cam, use_rgb=True)
    return grayscale_cam, overlay, cam


def test_five_level_fpn_maps_like_pytorch_grad_cam():
    # Levels '0'-'3' and 'pool' of 256 channels: pytorch-grad-cam's own layout (k // 256).
    torch.manual_seed(0)
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5)
    model = FasterRCNN(backbone, num_classes=5, **SMALL).eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    theirs, their_overlay, _ = tutorial("pytorch_grad_cam", model, x, 0.004)
    ours, our_overlay, cam = tutorial("camlens.compat.pytorch_grad_cam", model, x, 0.004)
    assert cam.last_path == "full" and ours.shape == (64, 64) and ours.max() > 0.99
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert np.abs(our_overlay.astype(int) - their_overlay.astype(int)).max() <= 1


def test_three_level_fpn_runs_where_pytorch_grad_cam_stops():
    # fasterrcnn_mobilenet_v3_large_320_fpn has levels '0', '1', 'pool': pytorch-grad-cam maps
    # channel k to level k // 256 by the names '0'-'3', 'pool' and raises KeyError: '2' for
    # k >= 512. camlens reads the levels from the dict: the same as pytorch-grad-cam with that
    # lookup done by the dict's order (``ByOrder``, its own code otherwise).
    import pytorch_grad_cam.ablation_layer as pgc_layers

    class ByOrder(pgc_layers.AblationLayerFasterRCNN):
        def __call__(self, x):
            result = self.activations
            keys = list(result)
            for i in range(result[keys[-1]].size(0)):
                level, index = int(self.indices[i] / 256), int(self.indices[i] % 256)
                result[keys[level]][i, index, :, :] = -1000
            return result

    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, **SMALL
    ).eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    from camlens.compat.pytorch_grad_cam.ablation_layer import AblationLayerFasterRCNN
    from camlens.compat.pytorch_grad_cam.utils.reshape_transforms import (
        fasterrcnn_reshape_transform,
    )

    with torch.no_grad():
        features = model.backbone(model.transform([x[0]])[0].tensors)
    assert list(features) == ["0", "1", "pool"]
    activations = fasterrcnn_reshape_transform(features)[0]
    picked = AblationLayerFasterRCNN().activations_to_be_ablated(activations, 0.006)
    assert len(picked) == 8 and picked.max() >= 512  # the third level is ablated too
    theirs, _, _ = tutorial("pytorch_grad_cam", model, x, 0.006, layer=ByOrder)
    ours, _, cam = tutorial("camlens.compat.pytorch_grad_cam", model, x, 0.006)
    assert cam.last_path == "full" and ours.max() > 0.99
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
