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

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ._masks import check_mask

Reduction = Literal["mean", "sum"]


class _AffineBatchNorm(TorchFunctionMode):
    """Batch-norm on running statistics computed as the per-channel affine map it is,
    ``x · w/√(var+ε) + (b − mean · w/√(var+ε))``: the same values, but a double backward of a
    multiply-add instead of batch-norm's generic second derivative (RRR's cost on a BN network
    in eval mode drops by about a third). Batch statistics (training mode) pass unchanged."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.batch_norm:
            names = ("input", "running_mean", "running_var", "weight", "bias", "training")
            bound = dict(zip((*names, "momentum", "eps"), args, strict=False))
            bound.update(kwargs)
            mean, var = bound.get("running_mean"), bound.get("running_var")
            if not bound.get("training", False) and mean is not None and var is not None:
                x = bound["input"]
                scale = torch.rsqrt(var + bound.get("eps", 1e-5))
                weight, bias = bound.get("weight"), bound.get("bias")
                if weight is not None:
                    scale = scale * weight
                shift = -mean * scale if bias is None else bias - mean * scale
                shape = (1, -1) + (1,) * (x.ndim - 2)
                return x * scale.view(shape) + shift.view(shape)
        return func(*args, **kwargs)


def input_gradients(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(logits, ∂/∂x Σ_k log softmax(logits)_k)`` with the graph kept for a second backward."""
    x = x if x.requires_grad else x.detach().requires_grad_(True)
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
