"""RefineCAM: the product rule by hand, one pass for all layers, pytorch-grad-cam's RefineCAM
(product at the input's size) and torchcam's (product at the largest layer's size)."""

import copy
import functools

import numpy as np
import pytest
import torch

from camlens.core.postprocess import fuse_pytorch_grad_cam, normalize, upsample
from camlens.methods.gradcam import GradCAM
from camlens.methods.gradcam_plusplus import GradCAMPlusPlus
from camlens.methods.layercam import LayerCAM
from camlens.methods.refinecam import RefineCAM, refine_layers

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_refine_layers_by_hand():
    # m1 normalised: [[0, 0.5], [1, 0.25]]; m2 (1×1, constant) normalises to 0 -> product 0;
    # m3 = [[2, 4], [4, 2]] -> [[0, 1], [1, 0]]; m1·m3 = [[0, .5], [1, 0]], already in [0, 1].
    m1 = torch.tensor([[[0.0, 2.0], [4.0, 1.0]]])
    m3 = torch.tensor([[[2.0, 4.0], [4.0, 2.0]]])
    torch.testing.assert_close(refine_layers([m1, m3]), torch.tensor([[[0.0, 0.5], [1.0, 0.0]]]))
    assert torch.equal(refine_layers([m1, torch.ones(1, 1, 1)]), torch.zeros(1, 2, 2))
    # the 1×1 map is resized to 2×2 (the largest size) before the product
    torch.testing.assert_close(
        refine_layers([m1, torch.tensor([[[5.0]]]), m3], eps=0.0), torch.zeros(1, 2, 2)
    )


def test_refinecam_is_the_normalised_product_of_the_base_maps(small_cnn, images):
    layers = ["conv1", "conv2", "conv3"]
    e = RefineCAM(small_cnn, layers).explain(images, targets=[3])
    base = GradCAMPlusPlus(small_cnn, layers).explain(images, targets=[3])
    for name in layers:
        torch.testing.assert_close(e.per_layer[name], base.per_layer[name])
    expected = normalize(torch.stack(list(base.per_layer.values())).prod(0))
    torch.testing.assert_close(e.maps, expected)


def test_layer_resolution_multiplies_before_upsampling(small_cnn, images):
    layers = ["conv1", "conv3"]
    e = RefineCAM(small_cnn, layers, base_method=LayerCAM, resolution="layer").explain(images)
    low = refine_layers(list(e.raw.values()))
    assert low.shape[1:] == (16, 16)
    torch.testing.assert_close(e.maps, normalize(upsample(low, (16, 16))))


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


def _batch(dtype):
    return torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_refinecam_matches_pytorch_grad_cam(dtype):
    pgc = pytest.importorskip("pytorch_grad_cam")
    targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
    model, x = _resnet(dtype), _batch(dtype)
    layers = ["layer2", "layer3"]
    theirs = pgc.RefineCAM(model, [model.get_submodule(n) for n in layers])(
        x, [targets.ClassifierOutputTarget(c) for c in (1, 7)]
    )
    cam = RefineCAM(model, layers, eps=1e-6, norm_eps=1e-7)  # eps: pgc's Grad-CAM++ epsilon
    cam.base.fuse = fuse_pytorch_grad_cam
    assert np.abs(theirs - cam(x, [1, 7]).numpy()).max() < 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("base", ["GradCAM", "LayerCAM"])
def test_refinecam_matches_torchcam(dtype, base):
    torchcam = pytest.importorskip("torchcam.methods")
    model, x = _resnet(dtype), _batch(dtype)
    layers = ["layer2", "layer3"]
    with torchcam.RefineCAM(
        model, layers, input_shape=(3, 48, 48), base_method=getattr(torchcam, base)
    ) as extractor:
        theirs = extractor([1, 7], model(x))[0]
    ours_base = {"GradCAM": GradCAM, "LayerCAM": LayerCAM}[base]
    cam = RefineCAM(model, layers, base_method=ours_base, resolution="layer", norm_eps=1e-8)
    e = cam.explain(x, [1, 7])
    assert (refine_layers(list(e.raw.values()), eps=1e-8) - theirs).abs().max() < 1e-5
    expected = normalize(upsample(theirs, (48, 48)), eps=1e-8)
    assert (e.maps - expected).abs().max() < 1e-5
