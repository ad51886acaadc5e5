"""Classification targets (per image: output ``(num_classes,)`` -> scalar score)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import TargetError


class ClassTarget:
    """y^c: the class score before softmax, as in Grad-CAM eq. 2 (``output[category]``).

    Shapes: one image's scores ``(num_classes,)`` -> a scalar ``()``.

    Example:
        >>> import torch
        >>> ClassTarget(1)(torch.tensor([0.5, 2.0, -1.0]))
        tensor(2.)
    """

    def __init__(self, category: int) -> None:
        if isinstance(category, bool) or not isinstance(category, int | torch.Tensor):
            raise TargetError(f"a class index must be an int, not {type(category).__name__}.")
        self.category = int(category)
        if self.category < 0:
            raise TargetError(f"class index must be >= 0, got {self.category}.")

    def check(self, output: Tensor) -> None:
        """Raise :class:`TargetError` if ``output`` (one image's scores) has no such class."""
        num = output.shape[-1] if output.ndim else 1
        if self.category >= num:
            raise TargetError(
                f"class index {self.category} is out of range for a model output with "
                f"{num} classes (valid: 0..{num - 1})."
            )

    def __call__(self, output: Tensor) -> Tensor:
        self.check(output)
        return output[..., self.category]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.category})"


class SoftmaxTarget(ClassTarget):
    """The softmax probability of the class (after softmax: more context, less locality).

    ``softmax(y)_c = exp(y^c) / Σ_k exp(y^k)``. Shapes: ``(num_classes,)`` -> ``()``.

    Example:
        >>> import torch
        >>> SoftmaxTarget(0)(torch.tensor([0.0, 0.0]))
        tensor(0.5000)
    """

    def __call__(self, output: Tensor) -> Tensor:
        self.check(output)
        return torch.softmax(output, dim=-1)[..., self.category]


class CounterfactualTarget(ClassTarget):
    """Minus the class score: the map shows what speaks *against* the class (paper, sec. 5).

    ``−y^c``. Shapes: ``(num_classes,)`` -> ``()``.

    Example:
        >>> import torch
        >>> CounterfactualTarget(1)(torch.tensor([0.5, 2.0]))
        tensor(-2.)
    """

    def __call__(self, output: Tensor) -> Tensor:
        return -super().__call__(output)


class BinaryTarget:
    """A single-logit binary classifier: ``category=1`` explains the logit, ``0`` its negation.

    ``y`` (category 1) or ``−y`` (category 0). Shapes: one logit ``(1,)`` or ``()`` -> ``()``.

    Example:
        >>> import torch
        >>> BinaryTarget(0)(torch.tensor([1.5]))
        tensor(-1.5000)
    """

    def __init__(self, category: int) -> None:
        if category not in (0, 1):
            raise TargetError(f"BinaryTarget takes category 0 or 1, got {category!r}.")
        self.category = int(category)

    def __call__(self, output: Tensor) -> Tensor:
        if output.numel() != 1:
            raise TargetError(
                f"BinaryTarget needs one logit per image, got an output of shape "
                f"{tuple(output.shape)}; use ClassTarget for multi-class outputs."
            )
        return output.reshape(()) * (1.0 if self.category == 1 else -1.0)

    def __repr__(self) -> str:
        return f"BinaryTarget({self.category})"


class RankTarget:
    """Each image's ``rank``-th best class (0 = top-1); becomes a :class:`ClassTarget` per image
    once the forward pass has given the scores.

    ``y^c`` with ``c`` the class of rank ``rank`` in descending order of ``y``. Shapes:
    ``(num_classes,)`` -> ``()``.

    Example:
        >>> import torch
        >>> RankTarget(1)(torch.tensor([0.5, 2.0, -1.0]))  # the second best class: 0
        tensor(0.5000)
    """

    def __init__(self, rank: int) -> None:
        if rank < 0:
            raise TargetError(f"rank must be >= 0, got {rank}.")
        self.rank = int(rank)

    def __call__(self, output: Tensor) -> Tensor:
        return output[..., int(output.argsort(descending=True)[self.rank])]

    def __repr__(self) -> str:
        return f"RankTarget({self.rank})"
