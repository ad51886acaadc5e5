"""Whether a computation was affine in a tensor, read from the torch calls it actually made.

:class:`AffineCheck` is a ``TorchFunctionMode``: inside it, after :meth:`AffineCheck.track`
marks a tensor A, every torch function or tensor method called on a tensor derived from A must be
affine in it, else :attr:`AffineCheck.affine` becomes ``False``. Affine calls: reshapes and views,
selections and indexing by indices that do not derive from A, sums, means, average pooling,
concatenation, constant padding, addition and subtraction, dtype and device casts, eval-mode
dropout and batch-norm, and products in which at most one factor derives from A (``linear``,
convolutions, ``matmul``, ``mul``, ``einsum``; division: the numerator only). Everything else —
ReLU, softmax, max, comparisons, in-place methods, ``.data``/``detach`` — and every read of a
derived value into Python (``.item()``, ``bool()``, ``.tolist()``, ``.numpy()``, printing),
which data-dependent Python control flow needs, makes it ``False``. Shape queries are free, and
so are calls on tensors that do not derive from A (parameters, the rest of the network).

When the check passes, the computation f that ran satisfies f(A') = f(A) + <∂f/∂A, A' − A> for
every A'. Python code that bypasses torch (reading memory through ``data_ptr``, say) is not seen;
Ablation-CAM also scores two ablated copies to confirm.

A function mode, not a dispatch mode: a ``TorchDispatchMode`` imports ``torch._dynamo`` on first
use, which takes seconds and crashes the process when TensorFlow was imported first.
"""

from __future__ import annotations

import weakref
from typing import Any

from torch import Tensor
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

#: Linear in all their tensor arguments together.
_ADDITIVE = {
    "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze",
    "permute", "transpose", "t", "contiguous", "clone", "expand", "expand_as", "repeat",
    "narrow", "select", "split", "chunk", "unbind", "cat", "concat", "concatenate", "stack",
    "sum", "mean", "add", "sub", "neg", "__add__", "__radd__", "__sub__", "__rsub__", "__neg__",
    "__pos__", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "float", "double", "half", "bfloat16", "to",
}  # fmt: skip
#: Linear in each tensor argument separately: at most one may derive from A.
_PRODUCT = {
    "mul", "__mul__", "__rmul__", "matmul", "__matmul__", "__rmatmul__", "mm", "bmm", "mv",
    "einsum", "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d",
}  # fmt: skip
#: Only the first argument may derive from A (the rest: divisors, indices, statistics).
_FIRST_ONLY = {"div", "__truediv__", "true_divide", "__getitem__", "gather", "index_select"}
#: Calls whose non-tensor results do not depend on the values.
_META = {"size", "dim", "numel", "__len__", "stride", "is_contiguous", "element_size",
         "get_device", "is_floating_point", "is_complex", "__get__"}  # fmt: skip


def _tensors(tree: object) -> list[Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, Tensor)]


def _flag(args: tuple, kwargs: dict, position: int, name: str, default: object) -> object:
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else default


class AffineCheck(TorchFunctionMode):
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

    def _allowed(self, name: str, args: tuple, kwargs: dict, out: object) -> bool:
        flags = [self.derives(t) for t in _tensors((args, kwargs))]
        first = bool(args) and isinstance(args[0], Tensor) and self.derives(args[0])
        if not _tensors(out):
            return name in _META
        if name in _ADDITIVE:
            return True
        if name in _PRODUCT:
            return sum(flags) <= 1
        if name in _FIRST_ONLY:
            if name == "div" and kwargs.get("rounding_mode") is not None:
                return False
            return first and sum(flags) == 1
        if name == "dropout":
            return _flag(args, kwargs, 2, "training", True) is False
        if name == "batch_norm":
            return first and sum(flags) == 1 and _flag(args, kwargs, 5, "training", False) is False
        if name == "pad":
            return _flag(args, kwargs, 2, "mode", "constant") == "constant"
        return False

    def __torch_function__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if any(self.derives(t) for t in _tensors((args, kwargs))):
            name = getattr(func, "__name__", "")
            if self.affine and not self._allowed(name, args, kwargs, out):
                self.affine = False
            for t in _tensors(out):
                self.track(t)
        return out
