"""Shapley-CAM — Cai, "CAMs as Shapley Value-based Explainers", 2025 (arXiv:2501.06261).

The Shapley value of the activations, to second order in a Taylor expansion of the score y around
A (with H = ∂²y/∂A² the Hessian of the network's tail), weights each channel by

    w_k = (1/Z) Σ_ij (∂y/∂A − ½ H·A)^k_ij            (H·A: a Hessian-vector product, no Hessian)
    L   = ReLU(Σ_k w_k A^k)

as pytorch-grad-cam's ``ShapleyCAM``. For a tail that is linear in A (GAP + linear head) H·A = 0
and this is Grad-CAM. The paper pairs it with the ReST utility (:class:`ReSTTarget`,
y^c + log softmax(y)_c); any target works.

Second order needs the graph of the first gradient: the capture keeps it (``create_graph``) while
the model's parameters stay frozen, so the graph starts at the first target layer and no parameter
gradient is formed; H·A is one more ``autograd.grad`` per layer and target set. Because the capture
differs from the other methods' (:meth:`ShapleyCAM.capture`), :func:`camlens.explain` runs
Shapley-CAM on its own. Shapes: A, ∂y/∂A, H·A ``(B, C, *spatial)`` -> w ``(B, C)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.adapters import require_torch_model
from ..core.base import BaseCAM, CaptureOptions, Explanation, LayerContext
from ..core.contract import Capture, ReshapeTransform
from ..core.errors import CamlensError, TargetError
from ..core.layers import LayersSpec
from ..core.torch_adapter import TorchAdapter, frozen_parameters


@dataclass
class SecondOrderCapture(Capture):
    """A :class:`Capture` that also holds ``hessian_products[t][l] = H·A`` (same shapes as A)."""

    hessian_products: list[list[Tensor]] = field(default_factory=list)


def second_order_capture(
    adapter: TorchAdapter,
    x: Tensor,
    target_sets: Sequence[object],
    *,
    differentiable: bool = False,
    rank_rows: Tensor | None = None,
) -> SecondOrderCapture:
    """The adapter's capture plus ``H·A = ∂/∂A (∂y/∂A · A)`` per layer and target set.

    Its ``gradients`` are the usual first-order ones. H·A is taken on the layers' raw outputs;
    they are reshaped (to ``(B, C, *grid)``) after.
    """
    adapter.reshape = _as_is  # type: ignore[method-assign, assignment]
    try:
        with frozen_parameters(adapter.model, enabled=not differentiable):
            first = adapter.capture(
                x, target_sets, gradients=True, differentiable=True, rank_rows=rank_rows
            )
            products = [
                [
                    _hessian_product(g, a, differentiable)
                    for a, g in zip(first.activations, grads, strict=True)
                ]
                for grads in first.gradients
            ]
    finally:
        del adapter.reshape
    shape = first.inputs.shape

    def keep(t: Tensor, name: str) -> Tensor:
        return adapter.reshape(t if differentiable else t.detach(), shape, name)

    names = first.layer_names
    return SecondOrderCapture(
        inputs=first.inputs,
        outputs=first.outputs if differentiable else first.outputs.detach(),
        activations=[keep(a, n) for a, n in zip(first.activations, names, strict=True)],
        gradients=[
            [keep(g, n) for g, n in zip(grads, names, strict=True)] for grads in first.gradients
        ],
        targets=first.targets,
        scores=[s if differentiable else s.detach() for s in first.scores],
        layer_names=names,
        adapter=adapter,
        hessian_products=[
            [keep(h, n) for h, n in zip(row, names, strict=True)] for row in products
        ],
    )


def _as_is(tensor: Tensor, input_shape: Sequence[int], name: str) -> Tensor:
    return tensor


def _hessian_product(gradient: Tensor, activation: Tensor, differentiable: bool) -> Tensor:
    """``H·A = ∂(g · A_const)/∂A``; zero when g does not depend on A (a tail linear in A)."""
    if not gradient.requires_grad:
        return torch.zeros_like(activation)
    (product,) = torch.autograd.grad(
        gradient,
        activation,
        grad_outputs=activation if differentiable else activation.detach(),
        retain_graph=True,
        create_graph=differentiable,
        allow_unused=True,
    )
    return torch.zeros_like(activation) if product is None else product


class ShapleyCAM(BaseCAM):
    """Grad-CAM on the second-order Shapley gradient ``∂y/∂A − ½ H·A``.

    Formula, reference and shapes: the docstring of ``camlens.methods.shapleycam``.

    Example:
        >>> cam = ShapleyCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "shapleycam"

    shares_capture = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        differentiable: bool = False,
    ) -> None:
        require_torch_model(model, "ShapleyCAM")
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)

    def capture(
        self, x: Tensor, target_sets: Sequence[object], options: CaptureOptions
    ) -> SecondOrderCapture:
        """The first-order capture and the Hessian-vector products ``H·A``."""
        return second_order_capture(
            self.adapter,  # type: ignore[arg-type]  # a TorchAdapter (require_torch_model)
            x,
            target_sets,
            differentiable=self.differentiable,
            rank_rows=options.rank_rows,
        )

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        products = capture.hessian_products if isinstance(capture, SecondOrderCapture) else None
        if products is None:
            raise CamlensError(
                "Shapley-CAM needs the Hessian-vector products of its own capture "
                "(ShapleyCAM.capture); run ShapleyCAM on its own."
            )
        shapley = [
            [g - 0.5 * h for g, h in zip(grads, row, strict=True)]
            for grads, row in zip(capture.gradients, products, strict=True)
        ]
        return super().explanations(replace(capture, gradients=shapley), eigen_smooth=eigen_smooth)

    def channel_weights(self, activations: Tensor, gradients: Tensor, ctx: LayerContext) -> Tensor:
        return gradients.flatten(2).mean(dim=2)


class ReSTTarget:
    """ReST (Residual Softmax Target-class), Shapley-CAM's utility: ``y^c + log softmax(y)_c``,
    i.e. ``y^c − CE(y, c)`` (pytorch-grad-cam's ``ClassifierOutputReST``).

    Shapes: one image's scores ``(classes,)`` -> a scalar ``()``.

    Example:
        >>> import torch
        >>> ReSTTarget(0)(torch.tensor([0.0, 0.0]))  # 0 + log(1/2)
        tensor(-0.6931)
    """

    def __init__(self, category: int) -> None:
        if isinstance(category, bool) or int(category) != category or category < 0:
            raise TargetError(f"a class index must be an int >= 0, got {category!r}.")
        self.category = int(category)

    def __call__(self, output: Tensor) -> Tensor:
        if self.category >= output.shape[-1]:
            raise TargetError(
                f"class index {self.category} is out of range for {output.shape[-1]} classes."
            )
        return output[..., self.category] + F.log_softmax(output, dim=-1)[..., self.category]

    def __repr__(self) -> str:
        return f"ReSTTarget({self.category})"
