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
        if self.pairs and func in _CONVS.values():
            weight = kwargs.get("weight", args[1] if len(args) > 1 else None)
            bn = self.pairs.get(id(weight))
            folded = None if bn is None else _eval_batch_norm_scale(bn)
            if folded is not None:
                scale, shift = folded
                bound = list(args)
                bias = kwargs.pop("bias", bound[2] if len(bound) > 2 else None)
                view = (-1,) + (1,) * (weight.ndim - 1)
                bound[1] = weight * scale.view(view)
                new_bias = shift if bias is None else bias * scale + shift
                if len(bound) > 2:
                    bound[2] = new_bias
                else:
                    kwargs["bias"] = new_bias
                if "weight" in kwargs:
                    kwargs["weight"] = bound.pop(1)
                out = func(*bound, **kwargs)
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
    (grad,) = torch.autograd.grad(log_probs.sum(), x, create_graph=True)
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
