"""Right for the Right Reasons — Ross, Hughes & Doshi-Velez, "Right for the Right Reasons:
Training Differentiable Models by Constraining their Explanations", IJCAI 2017 (arXiv:1703.03717).

    L(θ, X, y, A) = Σ_n CE(y_n, ŷ_n)                                       (right answers)
                  + λ₁ Σ_n Σ_d ( A_nd · ∂/∂x_nd Σ_k log ŷ_nk )²               (right reasons)
                  + λ₂ Σ_i θ_i²                                           (left to the optimiser)

A is the "must not use" annotation (1 where the input must not matter), ŷ the softmax of the
model's logits. The penalty is the squared input gradient of the summed log-probabilities inside
the mask: a second-order term (double backpropagation), one extra backward-of-backward per step.

Shapes: x ``(B, C, *spatial)``, mask ``(B, *spatial)`` (broadcast over channels) -> scalar.
The paper sums over images; ``reduction="mean"`` (default) divides by B so that λ₁ does not
depend on the batch size.
"""

from __future__ import annotations

import itertools
import threading
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ._masks import check_mask

Reduction = Literal["mean", "sum"]


#: reads of a tensor's shape, which batch-norm's forward makes before F.batch_norm
_METADATA = frozenset(
    {
        Tensor.dim,
        Tensor.size,
        Tensor.ndimension,
        Tensor.numel,
        vars(torch._C.TensorBase)["shape"].__get__,
    }
)
_CONVS = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d, nn.Conv3d: F.conv3d}
_TRANSPOSED = {
    F.conv1d: F.conv_transpose1d,
    F.conv2d: F.conv_transpose2d,
    F.conv3d: F.conv_transpose3d,
}
_INPUT_ONLY = threading.local()  # set while input_gradients takes its create_graph backward


class _Convolution(torch.autograd.Function):
    """``F.conv{1,2,3}d`` whose input gradient, inside :func:`input_gradients`' first backward,
    is the transposed convolution ``conv_transpose(∂L/∂out, W)`` — the exact gradient of a map
    that is linear in its input — taken as an ordinary differentiable op. Its backward, in the
    second (double) backward, is then PyTorch's native convolution kernels, where autograd's own
    double backward of a convolution (``_convolution_double_backward``) runs the weight gradient
    as a forward convolution over transposed copies: RRR on the benchmark CNN spent 175 ms of a
    610 ms step there. Any other backward (the loss's, with or without ``create_graph``) is
    ``aten.convolution_backward`` with its own derivative, as for ``F.conv2d`` itself."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, func):
        ctx.save_for_backward(x, weight)
        ctx.options = (stride, padding, dilation, groups, bias is not None, func)
        return func(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups, has_bias, func = ctx.options
        dims = x.ndim - 2
        stride, padding, dilation = (_ntuple(v, dims) for v in (stride, padding, dilation))
        if getattr(_INPUT_ONLY, "depth", 0) and torch.is_grad_enabled():
            # the input's gradient only (input_gradients asks for nothing else), differentiably
            kernel = weight.shape[2:]
            output_padding = [
                x.shape[2 + i]
                - ((grad.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                   + dilation[i] * (kernel[i] - 1) + 1)
                for i in range(dims)
            ]  # fmt: skip
            grad_x = _TRANSPOSED[func](
                grad, weight, None, stride, padding, output_padding, groups, dilation
            )
            return grad_x, None, None, None, None, None, None, None
        needs = ctx.needs_input_grad
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad, x, weight, [weight.shape[0]] if has_bias else None, stride, padding,
            dilation, False, [0] * dims, groups, [needs[0], needs[1], has_bias and needs[2]],
        )  # fmt: skip
        return grad_x, grad_w, grad_b, None, None, None, None, None


def _ntuple(value: object, n: int) -> list[int]:
    return list(value) if isinstance(value, tuple | list) else [int(value)] * n  # type: ignore[call-overload]


_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")


def _bind(args: tuple, kwargs: dict) -> dict:
    """A ``F.conv{1,2,3}d`` call's arguments by name."""
    bound = dict(zip(_CONV_ARGS, args, strict=False))
    bound.update(kwargs)
    return bound


def _convolution(func, bound: dict) -> Tensor:
    """``func(**bound)`` (a convolution) through :class:`_Convolution` when its padding is
    numeric (``"same"`` / ``"valid"`` strings run as they are)."""
    padding = bound.get("padding", 0)
    if isinstance(padding, str) or set(bound) - set(_CONV_ARGS):
        return func(**bound)
    return _Convolution.apply(
        bound["input"], bound["weight"], bound.get("bias"), bound.get("stride", 1), padding,
        bound.get("dilation", 1), bound.get("groups", 1), func,
    )  # fmt: skip


def _affine(
    mean: Tensor, var: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
) -> tuple[Tensor, Tensor]:
    """``(scale, shift)`` of a batch-norm on running statistics, ``y = x · scale + shift``."""
    scale = torch.rsqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    return scale, -mean * scale if bias is None else bias - mean * scale


def _eval_batch_norm_scale(bn: nn.modules.batchnorm._BatchNorm) -> tuple[Tensor, Tensor] | None:
    """:func:`_affine` of a batch-norm module in eval mode (None in training mode)."""
    if bn.training or bn.running_mean is None or bn.running_var is None:
        return None
    return _affine(bn.running_mean, bn.running_var, bn.weight, bn.bias, bn.eps)


def _conv_batch_norm_pairs(model: nn.Module) -> dict[int, nn.Module]:
    """``id(conv.weight) -> bn`` for each convolution followed by an eval-mode batch-norm in an
    ``nn.Sequential`` (whose forward feeds one child's output to the next and nothing else),
    neither with hooks (a hook would see the folded output)."""
    pairs: dict[int, nn.Module] = {}
    for seq in model.modules():
        if type(seq).forward is not nn.Sequential.forward:
            continue
        children = list(seq.children())
        for conv, bn in itertools.pairwise(children):
            if (
                type(conv) in _CONVS
                and isinstance(bn, nn.modules.batchnorm._BatchNorm)
                and type(bn).forward is nn.modules.batchnorm._BatchNorm.forward
                and not bn.training
                and bn.running_mean is not None
                and not (conv._forward_hooks or conv._forward_pre_hooks)
                and not (bn._forward_hooks or bn._forward_pre_hooks)
            ):
                pairs[id(conv.weight)] = bn
    return pairs


class _AffineBatchNorm(TorchFunctionMode):
    """Batch-norm on running statistics as the per-channel affine map it is: the same values with
    a cheaper double backward than batch-norm's generic second derivative.

    - A convolution followed by such a batch-norm in an ``nn.Sequential`` runs with the
      batch-norm folded into its weights, ``conv(x, W · s) + (b − μ) · s + β`` (``s = γ/√(σ²+ε)``),
      and the batch-norm passes its (already normalised) input on: no per-element work for the
      batch-norm in the forward, the backward or the double backward (RRR on the benchmark CNN:
      about a seventh of its step).
    - Any other running-statistics batch-norm becomes ``x · s + (β − μ · s)``.
    - Batch statistics (training mode) pass unchanged.

    ``folded_ok`` turns False if a folded output reached anything but its batch-norm (a model
    whose ``nn.Sequential`` output is read elsewhere); :func:`input_gradients` then runs the
    forward again without folding.
    """

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__()
        self.pairs = {} if model is None else _conv_batch_norm_pairs(model)
        self.pending: dict[int, tuple[Tensor, nn.Module]] = {}  # id(output) -> (output, its bn)
        self.folded_ok = True

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.pending and func is not F.batch_norm:
            self._check_unused(func, args, kwargs)
        if func in _TRANSPOSED:  # a convolution, folded with its batch-norm where paired
            bound = _bind(args, kwargs)
            weight, bias = bound["weight"], bound.get("bias")
            bn = self.pairs.get(id(weight))
            folded = None if bn is None else _eval_batch_norm_scale(bn)
            if folded is None:
                return _convolution(func, bound)
            scale, shift = folded
            bound["weight"] = weight * scale.view((-1,) + (1,) * (weight.ndim - 1))
            bound["bias"] = shift if bias is None else bias * scale + shift
            out = _convolution(func, bound)
            self.pending[id(out)] = (out, bn)
            return out
        if func is F.batch_norm:
            names = ("input", "running_mean", "running_var", "weight", "bias", "training")
            bound = dict(zip((*names, "momentum", "eps"), args, strict=False))
            bound.update(kwargs)
            x = bound["input"]
            entry = self.pending.pop(id(x), None)
            if entry is not None and entry[0] is x:
                if bound.get("running_mean") is entry[1].running_mean:
                    return x  # normalised already, inside the convolution
                self.folded_ok = False
            mean, var = bound.get("running_mean"), bound.get("running_var")
            if not bound.get("training", False) and mean is not None and var is not None:
                scale, shift = _affine(
                    mean, var, bound.get("weight"), bound.get("bias"), bound.get("eps", 1e-5)
                )
                shape = (1, -1) + (1,) * (x.ndim - 2)
                return x * scale.view(shape) + shift.view(shape)
        return func(*args, **kwargs)

    def _check_unused(self, func: object, args: tuple, kwargs: dict) -> None:
        if func in _METADATA:
            return
        for value in (*args, *kwargs.values()):
            if isinstance(value, Tensor) and id(value) in self.pending:
                self.folded_ok = False

    def finish(self) -> bool:
        """Whether every folded output went to its batch-norm and nowhere else."""
        ok = self.folded_ok and not self.pending
        self.pending.clear()
        return ok


def input_gradients(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(logits, ∂/∂x Σ_k log softmax(logits)_k)`` with the graph kept for a second backward."""
    x = x if x.requires_grad else x.detach().requires_grad_(True)
    mode = _AffineBatchNorm(model)
    with mode:
        logits = model(x)
    if not mode.finish():  # a folded convolution's output was read elsewhere: no folding
        with _AffineBatchNorm():
            logits = model(x)
    log_probs = F.log_softmax(logits, dim=-1)
    _INPUT_ONLY.depth = getattr(_INPUT_ONLY, "depth", 0) + 1
    try:
        (grad,) = torch.autograd.grad(log_probs.sum(), x, create_graph=True)
    finally:
        _INPUT_ONLY.depth -= 1
    return logits, grad


def rrr_penalty(
    model: nn.Module,
    x: Tensor,
    mask: Tensor,
    *,
    reduction: Reduction = "mean",
    logits_and_grad: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """The right-reasons term ``Σ_n Σ_d (A_nd ∂/∂x_nd Σ_k log ŷ_nk)²`` (÷ B with ``"mean"``)."""
    mask = check_mask(mask, x)
    _, grad = logits_and_grad if logits_and_grad is not None else input_gradients(model, x)
    masked = mask.unsqueeze(1) * grad
    total = masked.pow(2).sum()
    return total / x.shape[0] if reduction == "mean" and x.shape[0] else total


def _images_independent(model: nn.Module) -> bool:
    """False when a module mixes the images of a batch (batch-norm on batch statistics): then
    a sub-batch would not give the same input gradients."""
    return not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules()
    )


class RRRLoss(nn.Module):
    """``CE(y, ŷ) + λ · rrr_penalty``, from one forward pass: ``loss = RRRLoss(model)(x, y, mask)``.

    ``right_reasons`` is λ₁ of the paper (it used 1000 on Decoy MNIST with a summed penalty over
    images; scale it to the model and input normalisation). The weight decay term λ₂ is left to
    the optimiser. ``last`` holds the two terms of the last call (detached) for logging.

    Images whose mask is empty add nothing to the penalty, so when the images of a batch are
    independent (no batch-norm on batch statistics) only the annotated ones go through the double
    backward — the same loss and gradients, cheaper when a mask annotates one class in five.

    ``L = CE(y, ŷ) + λ₁ Σ_n Σ_d (A_nd · ∂/∂x_nd Σ_k log ŷ_nk)²`` (divided by B with
    ``reduction="mean"``). Shapes: x ``(B, C, *spatial)``, y ``(B,)``, mask ``(B, *spatial)``
    -> a scalar.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3))
        >>> x, y = torch.rand(2, 3, 8, 8), torch.tensor([0, 2])
        >>> mask = torch.zeros(2, 8, 8)
        >>> mask[:, :4] = 1.0
        >>> criterion = RRRLoss(model, right_reasons=10.0)
        >>> loss = criterion(x, y, mask)
        >>> loss.backward()
        >>> sorted(criterion.last)
        ['answers', 'reasons']
    """

    def __init__(
        self, model: nn.Module, right_reasons: float = 10.0, reduction: Reduction = "mean"
    ) -> None:
        super().__init__()
        self.model = model
        self.right_reasons = float(right_reasons)
        self.reduction: Reduction = reduction
        self.last: dict[str, float] = {}

    def forward(self, x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        mask = check_mask(mask, x)
        rows = mask.flatten(1).any(dim=1)
        if bool(rows.all()) or not _images_independent(self.model):
            logits, grad = input_gradients(self.model, x)
            reasons = rrr_penalty(
                self.model, x, mask, reduction=self.reduction, logits_and_grad=(logits, grad)
            )
        else:  # only the annotated images need the double backward; the others add exactly 0
            logits = self.model(x)
            reasons = x.new_zeros(())
            if bool(rows.any()):
                _, grad = input_gradients(self.model, x[rows])
                reasons = (mask[rows].unsqueeze(1) * grad).pow(2).sum()
            if self.reduction == "mean":
                reasons = reasons / x.shape[0]
        answers = F.cross_entropy(logits, y, reduction=self.reduction)
        self.last = {"answers": float(answers.detach()), "reasons": float(reasons.detach())}
        return answers + self.right_reasons * reasons
