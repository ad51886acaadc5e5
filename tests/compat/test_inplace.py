"""Layers followed by an in-place op: what each library computes.

densenet121's forward runs ``F.relu(features, inplace=True)`` on the output of ``features``
(whose last module, ``features[-1]``, is ``norm5``). pytorch-grad-cam stores ``output.detach()``,
which shares storage, so the ReLU rewrites its activations: it computes on ReLU(norm5). Its
gradients come from a tensor hook registered before the ReLU, so they are d score / d norm5, which
is already 0 where norm5 < 0. camlens hands the rest of the network a copy and keeps norm5.

Consequences, pinned below: Grad-CAM (and Grad-CAM++, XGrad-CAM, Eigen-CAM) differ; methods that
multiply A by its gradient (HiResCAM, LayerCAM, GradCAMElementWise, EigenGradCAM) agree, because
G ⊙ A = G ⊙ ReLU(A) when G = 0 wherever A < 0. The same holds for any layer followed by
``ReLU(inplace=True)`` (most VGG / MobileNet / SmallCNN convolutions).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import SmallCNN
from torch import Tensor

import camlens
import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from camlens.core.projection import first_principal_component

from ._models import CLASSES, batch, model

pgc = pytest.importorskip("pytorch_grad_cam")


def norm5_and_gradient() -> tuple[Tensor, Tensor]:
    """densenet121's true norm5 output A and d(Σ target scores)/dA, via a cloning hook."""
    net, x = model("densenet121"), batch()
    seen: dict[str, Tensor] = {}

    def hook(module, inputs, output: Tensor) -> Tensor:
        output.retain_grad()
        seen["A"] = output
        return output.clone()  # the in-place ReLU then acts on the copy

    handle = net.features.norm5.register_forward_hook(hook)
    try:
        logits = net(x)
        logits[range(len(CLASSES)), list(CLASSES)].sum().backward()
    finally:
        handle.remove()
        net.zero_grad(set_to_none=True)
    return seen["A"].detach(), seen["A"].grad


def targets() -> list[ClassifierOutputTarget]:
    return [ClassifierOutputTarget(c) for c in CLASSES]


def test_pgc_records_the_post_relu_tensor_with_the_true_gradient() -> None:
    a, g = norm5_and_gradient()
    assert (a < 0).float().mean() > 0.1  # a real difference to ReLU(A)
    net = model("densenet121")
    with pgc.GradCAM(net, [net.features[-1]]) as cam:
        cam(batch(), targets())
        (recorded,) = cam.activations_and_grads.activations
        (gradient,) = cam.activations_and_grads.gradients
    assert torch.equal(recorded, a.relu())
    assert torch.allclose(gradient, g, rtol=1e-5, atol=1e-9)
    assert bool((g[a < 0] == 0).all())


def test_camlens_records_the_layer_output_for_every_method() -> None:
    """Gradient methods and gradient-free Eigen-CAM alike see norm5 itself."""
    a, g = norm5_and_gradient()
    net, names = model("densenet121"), [camlens.ClassTarget(c) for c in CLASSES]
    hires = camlens.HiResCAM(net, "features.norm5").explain(batch(), names)
    expected = torch.relu((g * a).sum(1))
    assert torch.allclose(hires.raw["features.norm5"], expected, rtol=1e-4, atol=1e-7)
    eigen = camlens.EigenCAM(net, "features.norm5").explain(batch())
    expected = torch.relu(first_principal_component(a))
    assert torch.allclose(eigen.raw["features.norm5"], expected, rtol=1e-4, atol=1e-6)


class PostReLUGradCAM(compat.GradCAM):
    """Grad-CAM on ReLU(A): what pytorch-grad-cam computes on norm5."""

    def layer_map(self, activations, gradients, ctx, eigen_smooth=False):
        return super().layer_map(activations.relu(), gradients, ctx, eigen_smooth)


def test_gradcam_on_norm5_differs_and_pgc_is_gradcam_of_relu_norm5() -> None:
    net = model("densenet121")
    with pgc.GradCAM(net, [net.features[-1]]) as cam:
        theirs = cam(batch(), targets())
    with compat.GradCAM(net, [net.features[-1]]) as cam:
        ours = cam(batch(), targets())
    with PostReLUGradCAM(net, [net.features[-1]]) as cam:
        post_relu = cam(batch(), targets())
    assert np.abs(ours - theirs).max() > 0.05
    assert np.abs(post_relu - theirs).max() <= 1e-5


def test_gradient_gated_methods_agree_on_norm5() -> None:
    net = model("densenet121")
    with pgc.HiResCAM(net, [net.features[-1]]) as cam:
        theirs = cam(batch(), targets())
    with compat.HiResCAM(net, [net.features[-1]]) as cam:
        ours = cam(batch(), targets())
    assert np.abs(ours - theirs).max() <= 1e-5


def test_same_on_a_conv_followed_by_relu_inplace() -> None:
    """SmallCNN's conv3 feeds ReLU(inplace=True). pgc's Grad-CAM of conv3 is that of neither conv3
    nor relu3: it pairs relu3's output with conv3's gradient (0 where conv3 < 0). On relu3 itself
    both libraries agree."""
    torch.manual_seed(0)
    net = SmallCNN(inplace=True).eval()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    t = [ClassifierOutputTarget(c) for c in range(4)]
    maps = {}
    for name, cls in [("pgc", pgc.GradCAM), ("compat", compat.GradCAM), ("mix", PostReLUGradCAM)]:
        for layer in ("conv3", "relu3"):
            with cls(net, [getattr(net, layer)]) as cam:
                maps[name, layer] = cam(x, t)
    assert np.abs(maps["pgc", "conv3"] - maps["mix", "conv3"]).max() <= 1e-5
    assert np.abs(maps["pgc", "conv3"] - maps["compat", "conv3"]).max() > 0.05
    assert np.abs(maps["pgc", "conv3"] - maps["compat", "relu3"]).max() > 0.05
    assert np.abs(maps["compat", "relu3"] - maps["pgc", "relu3"]).max() <= 1e-5
