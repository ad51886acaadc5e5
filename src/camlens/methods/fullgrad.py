"""FullGrad — Srinivas & Fleuret, "Full-Gradient Representation for Neural Network
Visualization", NeurIPS 2019 (arXiv:1905.00780), eqs. 2 and 5, with the authors' post-processing
(github.com/idiap/fullgrad-saliency, ``saliency/fullgrad.py``).

Full-gradient decomposition (completeness, for ReLU / max-pool networks with eval-mode
batch-norm): with z_l the output of a bias-carrying layer l and b_l its (effective) bias,

    y^c(x) = Σ (∂y^c/∂x ⊙ x) + Σ_l Σ (∂y^c/∂z_l ⊙ b_l)

Bias-carrying layers: convolutions and linear layers with a bias, and batch-norm with its
effective bias ``b − μ·γ/√(σ² + ε)``. The map (eq. 5):

    S^c = ψ(∂y^c/∂x ⊙ x) + Σ_{l spatial} Σ_channels ψ(∂y^c/∂z_l ⊙ b_l)
    ψ(t) = upsample_bilinear(rescale(|t|))      rescale: per image over (C, h, w),
                                                 (t − min) / (max − min + 1e-6)

summed over channels after ψ; the upsampling aligns corners as the authors' code does; only the
convolution and batch-norm terms are spatial (linear layers count in the decomposition, not the
map). camlens then min-max normalises S to [0, 1].

Bias gradients ∂y^c/∂z_l are gradients with respect to the layers' OUTPUTS, captured by tensor
hooks during one ``torch.autograd.grad`` to the input (parameters frozen, no parameter gradient);
each term is reduced to a ``(B, h, w)`` map inside its hook, so the per-layer gradients are never
all alive at once. ``target_layers`` is ignored (every bias layer is used), as in
pytorch-grad-cam; so is ``reshape_transform``.

pytorch-grad-cam (``postprocess="pytorch-grad-cam"``): only ``Conv2d`` / ``BatchNorm2d`` (exact
types) with a bias; ψ rescales each CHANNEL separately (``(t − min)/(max − min + 1e-7)``, input
term included) before the channel sum, upsamples without aligning corners, and normalises the
final sum with ``+1e-7``. Its eigen_smooth path (projection of the terms at 1/8 resolution) is
reproduced too. Shapes: input ``(B, C, H, W)`` -> maps ``(B, H, W)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from ..core.adapters import require_torch_model
from ..core.base import BaseCAM, CaptureOptions, Explanation
from ..core.contract import Capture, ReshapeTransform, check_input, model_logits, score_sets
from ..core.errors import CamlensError, TargetError
from ..core.layers import LayersSpec
from ..core.postprocess import normalize, upsample
from ..core.projection import first_principal_component
from ..core.torch_adapter import TorchAdapter, graph_mode, input_leaf, warn_if_training
from ..errors import OptionError
from ..targets import Target

FullGradPostprocess = Literal["paper", "pytorch-grad-cam"]
_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}
_PAPER_EPS, _PGC_EPS = 1e-6, 1e-7


@dataclass
class FullGradDecomposition:
    """The full-gradient decomposition of each image's target score.

    input_gradient: ``(B, C, H, W)`` ∂y/∂x.
    input_term:     ``(B, C, H, W)`` ∂y/∂x ⊙ x.
    bias_terms:     layer name -> ∂y/∂z ⊙ b, the layer output's shape (``"name#k"`` for the k-th
                    extra call of a layer that runs several times).
    outputs, scores, targets: as in :class:`camlens.Explanation`.
    """

    input_gradient: Tensor
    input_term: Tensor
    bias_terms: dict[str, Tensor]
    outputs: Tensor
    scores: Tensor
    targets: list[Target]

    def total(self) -> Tensor:
        """``(B,)`` Σ input term + Σ bias terms: equals ``scores`` when completeness holds."""
        total = self.input_term.flatten(1).sum(1)
        for term in self.bias_terms.values():
            total = total + term.flatten(1).sum(1)
        return total


@dataclass
class FullGradCapture(Capture):
    """FullGrad's capture: ``gradients[t] = [∂y/∂x]`` and ``terms[t]``, layer name -> the
    reduced ``(B, h, w)`` map of its bias term (no layer activations)."""

    terms: list[dict[str, Tensor]] = field(default_factory=list)


@dataclass
class _BiasLayer:
    name: str
    module: nn.Module
    channel_dim: int  # the axis the bias is added along: 1 (conv, batch-norm) or -1 (linear)
    spatial: bool  # may contribute a map (conv, batch-norm)


def effective_bias(module: nn.Module) -> Tensor | None:
    """The per-channel constant a layer adds: its bias, or batch-norm's ``b − μ·γ/√(σ² + ε)``.

    None for a layer without one (no bias, or a batch-norm without running statistics).
    """
    if isinstance(module, _BatchNorm):
        if module.running_mean is None or module.running_var is None:
            return None
        scale = torch.rsqrt(module.running_var + module.eps)
        if module.weight is not None:
            scale = scale * module.weight
        bias = -module.running_mean * scale
        return bias + module.bias if module.bias is not None else bias
    bias = getattr(module, "bias", None)
    return bias if isinstance(bias, Tensor) else None


def bias_layers(model: nn.Module, postprocess: FullGradPostprocess = "paper") -> list[_BiasLayer]:
    """The layers FullGrad uses, in ``model.named_modules()`` order."""
    layers = []
    for name, module in model.named_modules():
        if postprocess == "pytorch-grad-cam":
            if type(module) in (nn.Conv2d, nn.BatchNorm2d) and module.bias is not None:
                layers.append(_BiasLayer(name, module, 1, True))
        elif isinstance(module, _ConvNd | _BatchNorm):
            if effective_bias(module) is not None:
                layers.append(_BiasLayer(name, module, 1, True))
        elif isinstance(module, nn.Linear) and module.bias is not None:
            layers.append(_BiasLayer(name, module, -1, False))
    return layers


def _bias_view(bias: Tensor, ndim: int, channel_dim: int) -> Tensor:
    shape = [1] * ndim
    shape[channel_dim] = bias.shape[0]
    return bias.view(shape)


def _upsample_aligned(maps: Tensor, size: Sequence[int]) -> Tensor:
    """Linear / bilinear / trilinear resize of ``(B, *spatial)`` with aligned corners."""
    size = tuple(int(s) for s in size)
    if tuple(maps.shape[1:]) == size:
        return maps
    mode = _MODES[maps.ndim - 1]
    return F.interpolate(maps[:, None], size=size, mode=mode, align_corners=True)[:, 0]


def _rescale_image(t: Tensor, eps: float) -> Tensor:
    """Paper ψ before upsampling: |t| rescaled per image over (C, *sp), then summed over C."""
    a = t.abs()
    flat = a.flatten(1)  # amin/amax: vectorised, unlike aminmax with a dim
    low, high = flat.amin(dim=1), flat.amax(dim=1)
    shape = (-1, *([1] * (a.ndim - 2)))
    return (a.sum(dim=1) - a.shape[1] * low.view(shape)) / (high - low + eps).view(shape)


def _rescale_channels(t: Tensor, eps: float) -> Tensor:
    """pytorch-grad-cam's ψ: |t| rescaled per (image, channel), ``(B, C, *sp)`` kept."""
    a = t.abs()
    flat = a.flatten(2)
    low, high = flat.amin(dim=2), flat.amax(dim=2)
    shape = (*a.shape[:2], *([1] * (a.ndim - 2)))
    return (a - low.view(shape)) / (high - low + eps).view(shape)


class FullGrad(BaseCAM):
    """FullGrad: |input-gradient ⊙ input| plus every spatial layer's |bias-gradient ⊙ bias|.

    Args:
        model: any ``nn.Module`` (left as it is).
        target_layers: ignored, as in pytorch-grad-cam (warns when not empty): FullGrad uses all
            bias layers.
        reshape_transform: ignored (FullGrad's terms are convolution outputs).
        differentiable: keep the autograd graph (maps differentiable w.r.t. the input).
        postprocess: ``"paper"`` (the authors' code) or ``"pytorch-grad-cam"`` (its layer choice
            and post-processing, number for number).

    Formula, reference and shapes: the docstring of ``camlens.methods.fullgrad``.

    Example:
        >>> cam = FullGrad(model)  # every bias layer; no target layer
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "fullgrad"

    uses_gradients: ClassVar[bool] = True
    # FullGrad needs the input gradient and its own layers: it cannot share another method's
    # capture (camlens.explain calls its explain()).
    shares_capture: ClassVar[bool] = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None = None,
        reshape_transform: ReshapeTransform | None = None,
        *,
        differentiable: bool = False,
        postprocess: FullGradPostprocess = "paper",
    ) -> None:
        require_torch_model(model, "FullGrad")
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
        if postprocess not in ("paper", "pytorch-grad-cam"):
            raise OptionError(
                f"postprocess must be 'paper' or 'pytorch-grad-cam', got {postprocess!r}."
            )
        if target_layers is not None and (
            isinstance(target_layers, str | nn.Module) or len(target_layers) > 0
        ):
            warnings.warn(
                "target_layers is ignored by FullGrad: every bias layer (convolution, "
                "batch-norm) is used instead.",
                UserWarning,
                stacklevel=2,
            )
        self.model = model
        # for the pipeline (input, empty batches): FullGrad's layers are its bias layers
        self.adapter = TorchAdapter(model, None)
        self.adapter.layers = []
        self.differentiable = differentiable
        self.postprocess = postprocess
        self.layers = bias_layers(model, postprocess)

    # --- the pass ------------------------------------------------------------------------------
    def _backward_pass(
        self,
        x: Tensor,
        target_sets: Sequence[object],
        reduce: Callable[[Tensor, Tensor, _BiasLayer], Tensor],
        spatial_only: bool,
        rank_rows: Tensor | None = None,
    ) -> tuple[Tensor, list[list[Target]], list[Tensor], list[Tensor], list[dict[str, Tensor]]]:
        """One forward; per target set one ``autograd.grad`` to the input, during which tensor
        hooks on the bias layers' outputs hand ``reduce(grad, bias, layer)`` into that set's dict.

        Returns logits, targets, scores, input gradients and the reduced terms, per set.
        """
        if not target_sets:
            raise TargetError("target_sets is empty: give at least one set of targets.")
        x = check_input(x)
        warn_if_training(self.model, "FullGrad maps (and break completeness)", stacklevel=5)
        differentiable = self.differentiable
        terms: list[dict[str, Tensor]] = [{} for _ in target_sets]
        order: list[str] = []  # term names in forward order
        current = [0]
        calls: dict[str, int] = {}
        biases: dict[int, Tensor | None] = {}

        def forward_hook(layer: _BiasLayer) -> Callable:
            def hook(module: nn.Module, inputs: object, output: object) -> None:
                if not isinstance(output, Tensor) or not output.requires_grad:
                    return
                if spatial_only and (not layer.spatial or output.ndim != x.ndim):
                    return
                bias = biases[id(module)]
                if bias is None or output.shape[layer.channel_dim] != bias.shape[0]:
                    return
                count = calls.get(layer.name, 0)
                calls[layer.name] = count + 1
                key = (layer.name or "<model>") + (f"#{count}" if count else "")
                order.append(key)
                bias = _bias_view(bias.to(output.dtype), output.ndim, layer.channel_dim)

                def grad_hook(grad: Tensor) -> None:
                    terms[current[0]][key] = reduce(grad, bias, layer)

                output.register_hook(grad_hook)

            return hook

        handles = []
        try:
            with graph_mode(self.model, differentiable=differentiable):
                leaf = input_leaf(x, differentiable)
                with torch.set_grad_enabled(differentiable):
                    for layer in self.layers:
                        biases[id(layer.module)] = effective_bias(layer.module)
                handles.extend(
                    layer.module.register_forward_hook(forward_hook(layer)) for layer in self.layers
                )
                output = self.model(leaf.clone())
                for handle in handles:
                    handle.remove()
                logits = model_logits(output)
                targets, scores = score_sets(target_sets, logits, x.shape[0], rank_rows)
                gradients = []
                for i, score in enumerate(scores):
                    if not score.requires_grad:
                        raise CamlensError(
                            "the target scores do not depend on the input through autograd; "
                            "FullGrad cannot explain this model."
                        )
                    current[0] = i
                    (grad,) = torch.autograd.grad(
                        score.sum(),
                        leaf,
                        retain_graph=differentiable or i < len(scores) - 1,
                        create_graph=differentiable,
                    )
                    gradients.append(grad)
        finally:
            for handle in handles:
                handle.remove()
        terms = [{k: found[k] for k in order if k in found} for found in terms]
        if not differentiable:
            logits = logits.detach()
            scores = [s.detach() for s in scores]
        return logits, targets, scores, gradients, terms

    # --- decomposition -------------------------------------------------------------------------
    def decompose(self, input_tensor: Tensor, targets: object = None) -> FullGradDecomposition:
        """The full-gradient decomposition (every bias layer, linear ones included)."""

        def product(grad: Tensor, bias: Tensor, layer: _BiasLayer) -> Tensor:
            return grad * bias

        logits, targets_, scores, grads, terms = self._backward_pass(
            input_tensor, [targets], product, spatial_only=False
        )
        x = self._input_for_product(input_tensor, grads[0])
        return FullGradDecomposition(
            input_gradient=grads[0],
            input_term=grads[0] * x,
            bias_terms=terms[0],
            outputs=logits,
            scores=scores[0],
            targets=targets_[0],
        )

    # --- maps ----------------------------------------------------------------------------------
    def capture(
        self, x: Tensor, target_sets: Sequence[object], options: CaptureOptions
    ) -> FullGradCapture:
        """One forward; per target set the input gradient (``gradients[t]``) and each spatial
        bias layer's term reduced to a map (``terms[t]``), as :meth:`explanations` reads them."""
        x = check_input(x)
        paper = self.postprocess == "paper"

        def reduce(grad: Tensor, bias: Tensor, layer: _BiasLayer) -> Tensor:
            product = grad * bias
            if paper:
                return _rescale_image(product, _PAPER_EPS)
            return _rescale_channels(product, _PGC_EPS).sum(dim=1)

        logits, targets, scores, grads, terms = self._backward_pass(
            x, target_sets, reduce, spatial_only=True, rank_rows=options.rank_rows
        )
        return FullGradCapture(
            inputs=x,
            outputs=logits,
            activations=[],
            gradients=[[g] for g in grads],
            targets=targets,
            scores=scores,
            adapter=self.adapter,
            terms=terms,
        )

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        """FullGrad's maps (eq. 5) from its own capture."""
        if not isinstance(capture, FullGradCapture):
            raise CamlensError(
                "FullGrad needs the input gradient and the bias terms of its own capture "
                "(FullGrad.capture), not a capture shared with other methods; call FullGrad "
                "on its own."
            )
        x, logits, scores, targets = (
            capture.inputs,
            capture.outputs,
            capture.scores,
            capture.targets,
        )
        grads, terms = [g[0] for g in capture.gradients], capture.terms
        paper = self.postprocess == "paper"
        size = x.shape[2:]
        resize = _upsample_aligned if paper else upsample
        results = []
        for t, grad in enumerate(grads):
            product = grad * self._input_for_product(x, grad)
            if paper:
                input_channels = None
                raw = {"input": _rescale_image(product, _PAPER_EPS)}
            else:
                input_channels = _rescale_channels(product, _PGC_EPS)
                raw = {"input": input_channels.sum(dim=1)}
            raw.update(terms[t])
            per_layer = {name: resize(m, size) for name, m in raw.items()}
            if eigen_smooth:
                maps = self._eigen(per_layer, input_channels, size)
            else:
                total = sum(per_layer.values(), torch.zeros_like(per_layer["input"]))
                maps = normalize(total) if paper else normalize(total, eps=_PGC_EPS)
            results.append(
                Explanation(
                    maps=maps.float(),
                    per_layer={k: v.float() for k, v in per_layer.items()},
                    raw={k: v.float() for k, v in raw.items()},
                    outputs=logits,
                    scores=scores[t],
                    targets=list(targets[t]),
                )
            )
        return results

    def _eigen(
        self, per_layer: dict[str, Tensor], input_channels: Tensor | None, size: Sequence[int]
    ) -> Tensor:
        """First principal component of the terms (pytorch-grad-cam: at 1/8 resolution, each
        input channel a term, every step re-normalised)."""
        if input_channels is None:
            stacked = torch.stack(list(per_layer.values()), dim=1)  # (B, T, *size)
            return normalize(first_principal_component(stacked))
        layer_maps = [m for name, m in per_layer.items() if name != "input"]
        stacked = torch.cat([input_channels, *[m[:, None] for m in layer_maps]], dim=1)
        batch, count = stacked.shape[:2]
        small = [max(1, s // 8) for s in size]
        flat = upsample(normalize(stacked.flatten(0, 1), eps=_PGC_EPS), small)
        projection = first_principal_component(flat.view(batch, count, *small))
        projection = upsample(normalize(projection, eps=_PGC_EPS), size)
        return normalize(projection, eps=_PGC_EPS)

    def _input_for_product(self, x: Tensor, grad: Tensor) -> Tensor:
        keep = self.differentiable and x.requires_grad
        return (x if keep else x.detach()).to(grad.dtype)

    def channel_weights(self, activations: Tensor, gradients: Any, ctx: Any) -> Tensor:
        raise NotImplementedError("FullGrad has no channel weights; call it or use explain().")
