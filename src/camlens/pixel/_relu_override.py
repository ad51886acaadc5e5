"""A scoped override of the ReLU backward rule, for deconvolution and guided backpropagation.

Forward values are unchanged (``max(x, 0)``); only the gradient passed back through each ReLU
changes. With ``g`` the upstream gradient and ``x`` the ReLU's forward input:

    ordinary ReLU:     g · 1[x > 0]
    "deconvnet":       ReLU(g)                  (Zeiler & Fergus 2014)
    "guided":          ReLU(g) · 1[x > 0]       (Springenberg et al. 2015)

Mechanism: a :class:`torch.overrides.TorchFunctionMode` active only during the forward pass. It
sees every torch-level call, and replaces the ReLU ones by a ``torch.autograd.Function`` with the
chosen backward. That covers ``nn.ReLU`` modules (they call ``F.relu``), ``nn.ReLU(inplace=True)``,
``F.relu`` / ``F.relu_`` / ``torch.relu`` / ``torch.relu_`` / ``Tensor.relu`` / ``Tensor.relu_``
however the model imported them (a mode intercepts the call, not a name), and nothing is swapped
in the model: when the ``with`` block ends the mode is gone. Calls of other functions pass through
unchanged (one Python call of overhead each). The mode is thread-local, so it does not leak into
other threads — and does not reach the worker threads of ``nn.DataParallel`` either.

Not covered (they are not calls of a torch-level ReLU function): TorchScript / ``torch.compile``d
code, ``torch.ops.aten.relu`` called directly, ReLU written as ``clamp(min=0)`` or
``x * (x > 0)``, and other activations (ReLU6, LeakyReLU, GELU, ...), whose gradients stay
ordinary. :attr:`ReLUOverride.calls` counts the ReLU calls it replaced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch.overrides import TorchFunctionMode

from ..errors import OptionError

ReLURule = Literal["deconvnet", "guided"]
RULES: tuple[str, ...] = ("deconvnet", "guided")


def _guided_backward(grad: Tensor, out: Tensor) -> Tensor:
    """ReLU(g) · 1[out > 0] in two passes: ReLU's own masking kernel, then an in-place clamp."""
    return torch.ops.aten.threshold_backward(grad, out, 0).clamp_min_(0)


class _DeconvReLU(torch.autograd.Function):
    """max(x, 0) forward; backward ReLU(g)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return torch.relu(x)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.clamp_min(0)


class _DeconvReLUInplace(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.mark_dirty(x)
        return torch.relu_(x)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.clamp_min(0)


class _GuidedReLU(torch.autograd.Function):
    """max(x, 0) forward; backward ReLU(g) · 1[x > 0] (x > 0 exactly where the output is > 0)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        out = torch.relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return _guided_backward(grad, out)


class _GuidedReLUInplace(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.mark_dirty(x)
        out = torch.relu_(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return _guided_backward(grad, out)


_FUNCTIONS = {
    "deconvnet": (_DeconvReLU, _DeconvReLUInplace),
    "guided": (_GuidedReLU, _GuidedReLUInplace),
}
_OUT_OF_PLACE = (torch.relu, Tensor.relu)
_IN_PLACE = (torch.relu_, Tensor.relu_)  # F.relu_ is torch.relu_


class ReLUOverride(TorchFunctionMode):
    """While active, every ReLU call gets the backward rule ``rule`` ("deconvnet" or "guided")."""

    def __init__(self, rule: ReLURule) -> None:
        super().__init__()
        if rule not in _FUNCTIONS:
            raise OptionError(f"rule must be one of {RULES}, got {rule!r}.")
        self.rule = rule
        self.calls = 0
        self._out_of_place, self._in_place = _FUNCTIONS[rule]

    def __torch_function__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        # Inside this method the mode is switched off, so the calls below are not intercepted.
        if func is F.relu:
            inplace = kwargs.get("inplace", args[1] if len(args) > 1 else False)
            self.calls += 1
            return (self._in_place if inplace else self._out_of_place).apply(args[0])
        if func in _OUT_OF_PLACE:
            self.calls += 1
            return self._out_of_place.apply(args[0])
        if func in _IN_PLACE:
            self.calls += 1
            return self._in_place.apply(args[0])
        return func(*args, **kwargs)


@contextlib.contextmanager
def relu_rule(rule: ReLURule | None) -> Iterator[ReLUOverride | None]:
    """Every ReLU's backward pass by ``rule`` inside the block (``None`` changes nothing).

    ``with relu_rule("guided"): out = model(x)``.
    """
    if rule is None:
        yield None
        return
    with ReLUOverride(rule) as mode:
        yield mode
