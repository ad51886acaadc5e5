"""Finer-CAM's target: class ``c`` against the classes most similar to it (arXiv:2501.11309).

``s = Σ_t p_t (y^c − α y^{d_t}) / (Σ_t p_t + 1e-9)`` with ``p = softmax(y)`` (``"softmax"``
weighting, the authors' code and pytorch-grad-cam), or ``y^c − α · mean_t y^{d_t}`` (``"mean"``,
torchcam). :class:`camlens.methods.FinerCAM` explains it; see :mod:`camlens.methods.finercam`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from ..errors import OptionError, TargetError

Weighting = Literal["softmax", "mean"]
DEFAULT_RANKS = (1, 2, 3)


class FinerTarget:
    """Finer-CAM's contrastive score of one image: class ``category`` against similar classes.

    Args:
        category: the main class; ``None`` takes the image's ``rank``-th best class (0 = top-1).
        comparisons: the comparison classes; ``None`` takes the classes at ``ranks`` of the
            order by |y − y^c| (rank 0 is the main class itself).
        alpha: comparison strength (α; torchcam's γ).
        weighting: ``"softmax"`` (authors' code, pytorch-grad-cam) or ``"mean"`` (torchcam).

    Score with comparison classes ``j``: ``"mean"`` gives ``y^c − α·mean_j y^j``; ``"softmax"``
    gives ``Σ_j w_j (y^c − α y^j) / Σ_j w_j`` with ``w = softmax(y)_j``. Shapes: one image's scores
    ``(classes,)`` -> ``()`` (a batch ``(B, classes)`` -> ``(B,)``).

    Example:
        >>> import torch
        >>> FinerTarget(0, [1, 2], weighting="mean")(torch.tensor([3.0, 1.0, 2.0]))
        tensor(1.5000)
    """

    def __init__(
        self,
        category: int | None = None,
        comparisons: Sequence[int] | None = None,
        *,
        ranks: Sequence[int] = DEFAULT_RANKS,
        alpha: float = 1.0,
        weighting: Weighting = "softmax",
        rank: int = 0,
    ) -> None:
        if weighting not in ("softmax", "mean"):
            raise OptionError(f"weighting must be 'softmax' or 'mean', got {weighting!r}.")
        self.category = None if category is None else _index(category, "category")
        self.comparisons = None if comparisons is None else [_index(c, "a") for c in comparisons]
        if self.comparisons is not None and not self.comparisons:
            raise TargetError("comparisons is empty: give at least one comparison class.")
        self.ranks = [_index(r, "a rank") for r in ranks]
        if any(r < 1 for r in self.ranks):
            raise TargetError(f"comparison ranks start at 1 (0 is the main class), got {ranks}.")
        self.alpha = float(alpha)
        self.weighting = weighting
        self.rank = _index(rank, "rank")

    def resolve(self, output: Tensor) -> FinerTarget:
        """This target with its main and comparison classes fixed from one image's output."""
        if self.category is not None and self.comparisons is not None:
            return self
        scores = output.detach().flatten()
        classes = scores.shape[0]
        category = self.category
        if category is None:
            if self.rank >= classes:
                raise TargetError(
                    f"rank {self.rank} asked for, but the model has {classes} classes."
                )
            category = int(scores.argsort(descending=True)[self.rank])
        if category >= classes:
            raise TargetError(f"class index {category} is out of range for {classes} classes.")
        comparisons = self.comparisons
        if comparisons is None:
            distance = (scores - scores[category]).abs()
            distance[category] = -1.0  # the main class comes first (rank 0), ties or not
            order = distance.argsort(stable=True).tolist()
            comparisons = [order[r] for r in self.ranks if r < classes]
            if not comparisons:
                raise TargetError("Finer-CAM needs a model with at least two classes.")
        return FinerTarget(
            category, comparisons, alpha=self.alpha, weighting=self.weighting, ranks=self.ranks
        )

    def __call__(self, output: Tensor) -> Tensor:
        """The contrastive score of one image's output ``(classes,)`` (or of each batch row)."""
        if output.ndim > 1:
            return torch.stack([self(row) for row in output])
        target = self.resolve(output)
        if max(target.comparisons) >= output.shape[-1]:
            raise TargetError(
                f"comparison class {max(target.comparisons)} is out of range for "
                f"{output.shape[-1]} classes."
            )
        main = output[target.category]
        others = output[target.comparisons]
        if self.weighting == "mean":
            return main - self.alpha * others.mean()
        weights = torch.softmax(output, dim=-1)[target.comparisons]
        return (weights * (main - self.alpha * others)).sum() / (weights.sum() + 1e-9)

    def __repr__(self) -> str:
        return (
            f"FinerTarget({self.category}, {self.comparisons}, alpha={self.alpha}, "
            f"weighting={self.weighting!r})"
        )


def _index(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise TargetError(f"{what} class index must be an int, not a bool.")
    try:
        index = operator.index(value)
    except TypeError:
        raise TargetError(f"{what} class index must be an int, not {value!r}.") from None
    if index < 0:
        raise TargetError(f"{what} class index must be >= 0, got {index}.")
    return index


__all__ = ["DEFAULT_RANKS", "FinerTarget", "Weighting"]
