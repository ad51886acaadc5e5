"""Whether a computation was affine in a tensor, read from the operations it actually ran.

:class:`AffineCheck` is a ``TorchDispatchMode``: inside it, after :meth:`AffineCheck.track`
marks a tensor A, every ATen operation that takes a tensor derived from A must be affine in it,
else :attr:`AffineCheck.affine` becomes ``False``. Affine operations: reshapes and views,
selections and indexing by indices that do not derive from A, sums, means, average pooling,
concatenation, padding with a constant, addition and subtraction, dtype casts, and products in
which at most one factor derives from A (``mm``, ``addmm``, ``bmm``, ``mul``; ``div``: the
numerator only; ``convolution`` and eval-mode batch-norm: the input only). Everything else —
ReLU, softmax, max, sorting, in-place updates, ``detach`` — and every conversion of a derived
value to Python (``.item()``, ``bool()``, which Python control flow needs) makes it ``False``.
Operations on tensors that do not derive from A (parameters, the rest of the network) are free.

When the check passes, the computation f that ran satisfies f(A') = f(A) + <∂f/∂A, A' − A> for
every A' that takes the same operations. Limit: Python code that reads a derived tensor without
an ATen call (``.tolist()``, ``.numpy()`` on a tensor that requires no grad) is not seen; callers
that rely on the verdict also check a few values directly (Ablation-CAM scores two ablated
copies).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten

aten = torch.ops.aten

#: Linear in all their tensor arguments together.
_ADDITIVE = {
    aten.view,
    aten._unsafe_view,
    aten.reshape,
    aten._reshape_alias,
    aten.as_strided,
    aten.t,
    aten.permute,
    aten.transpose,
    aten.expand,
    aten.squeeze,
    aten.unsqueeze,
    aten.select,
    aten.slice,
    aten.narrow,
    aten.split,
    aten.split_with_sizes,
    aten.unbind,
    aten.chunk,
    aten.alias,
    aten.clone,
    aten.contiguous,
    aten._to_copy,
    aten.cat,
    aten.stack,
    aten.repeat,
    aten.sum,
    aten.mean,
    aten.add,
    aten.sub,
    aten.neg,
    aten.avg_pool1d,
    aten.avg_pool2d,
    aten.avg_pool3d,
    aten._adaptive_avg_pool2d,
    aten._adaptive_avg_pool3d,
    aten.adaptive_avg_pool1d,
    aten.constant_pad_nd,
    aten.flatten,
}
#: Linear in each tensor argument separately: at most one may derive from A.
_PRODUCT = {aten.mm, aten.bmm, aten.mv, aten.dot, aten.mul, aten.matmul}
#: Only the first tensor argument may derive from A (the others are weights, indices, divisors).
_FIRST_ONLY = {
    aten.div,
    aten.convolution,
    aten._native_batch_norm_legit_no_training,
    aten.index,
    aten.index_select,
    aten.gather,
}


def _tensors(tree: object) -> list[Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, Tensor)]


class AffineCheck(torch.utils._python_dispatch.TorchDispatchMode):
    """Record whether what runs inside is affine in the tensors passed to :meth:`track`."""

    def __init__(self) -> None:
        super().__init__()
        self.affine = True
        self._derived: dict[int, weakref.ref] = {}

    def track(self, tensor: Tensor) -> Tensor:
        """Mark ``tensor`` as A (returns it)."""
        self._derived[id(tensor)] = weakref.ref(tensor)
        return tensor

    def derives(self, tensor: Tensor) -> bool:
        """Whether ``tensor`` was computed from A (inside the block)."""
        ref = self._derived.get(id(tensor))
        return ref is not None and ref() is tensor

    def _allowed(self, func: Any, args: tuple, kwargs: dict, flags: list[bool]) -> bool:
        packet = func.overloadpacket
        if packet in _ADDITIVE:
            return True
        if packet in _PRODUCT:
            return sum(flags) <= 1
        if packet is aten.addmm or packet is aten.addmv or packet is aten.baddbmm:
            return sum(flags[1:]) <= 1  # bias + m1 @ m2
        if packet in _FIRST_ONLY:
            if packet is aten.div and kwargs.get("rounding_mode") is not None:
                return False
            return flags[0] and not any(flags[1:])
        return False

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        flags = [self.derives(t) for t in _tensors((args, kwargs))]
        if any(flags):
            if self.affine and not self._allowed(func, args, kwargs, flags):
                self.affine = False
            for t in _tensors(out):
                self.track(t)
        return out
