"""The metric protocol: accumulators over batches that know which direction is better.

    metric = camlens.metrics.PointingGame()
    for x, y, masks in loader:
        maps = cam(x, targets=y)
        metric.update(inputs=x, maps=maps, targets=y, masks=masks)
    metric.compute()             # a float (or a dict for metrics with several numbers)
    metric.higher_is_better      # True / False
    metric.requires              # what update() needs: {"model"}, {"masks_or_boxes"}, ...

Shapes: ``inputs`` (B, C, H, W) as fed to the model; ``maps`` (B, H, W) in [0, 1] (a CAM's
output); ``targets`` class indices (ints, a (B,) tensor, or :class:`camlens.ClassTarget` s);
``masks`` (B, H, W) bool object masks; ``boxes`` (B, 4) xyxy pixel boxes or a list of (n_i, 4).
Metrics that re-run the explanation (``"method"`` in ``requires``: sanity checks, coherency, ARCC)
also take ``method=`` (a callable ``(model, inputs, targets) -> maps``, a CAM class or its name)
and ``method_kwargs=`` (see :mod:`camlens.metrics._method`); the others ignore extra keywords.
Every metric here keeps one value per image: ``metric.per_image`` (N,).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn


class Metric:
    """Base of the metrics: ``update(...)`` per batch, ``compute()`` at the end, ``reset()``.

    Shapes: as in the module docstring (``inputs (B, C, H, W)``, ``maps (B, H, W)``, ...);
    ``compute()`` -> a float or a dict of floats.

    Example:
        >>> import torch
        >>> from camlens.metrics import Complexity
        >>> metric: Metric = Complexity()
        >>> metric.update(inputs=torch.rand(2, 3, 4, 4), maps=torch.ones(2, 4, 4))
        >>> metric.compute(), metric.higher_is_better
        (1.0, False)
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    # What update() needs besides inputs/maps/targets: "model", "masks", "boxes",
    # "masks_or_boxes", "method" (sanity checks re-run the explanation method).
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        **kwargs: Any,
    ) -> None:
        raise NotImplementedError

    def compute(self) -> float | dict[str, float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        direction = "higher" if self.higher_is_better else "lower"
        return f"{type(self).__name__}({direction} is better)"


class PerImageMetric(Metric):
    """A metric with one number per image; ``compute()`` is their mean over every update.

    Subclasses append a ``(B,)`` tensor per batch to ``self._values``; ``per_image`` gives all of
    them, in update order, as one ``(N,)`` float64 CPU tensor.

    Example:
        >>> import torch
        >>> class MeanMap(PerImageMetric):
        ...     name = "mean_map"
        ...     def update(self, *, inputs, maps, **kwargs):
        ...         self._values.append(maps.flatten(1).mean(dim=1))
        >>> metric = MeanMap()
        >>> maps = torch.tensor([0.0, 1.0])[:, None, None]
        >>> metric.update(inputs=torch.rand(2, 3, 1, 1), maps=maps)
        >>> metric.compute(), metric.per_image.shape
        (0.5, torch.Size([2]))
    """

    def reset(self) -> None:
        self._values: list[Tensor] = []

    @property
    def per_image(self) -> Tensor:
        if not self._values:
            return torch.zeros(0, dtype=torch.float64)
        return torch.cat([v.detach().flatten().double().cpu() for v in self._values])

    def compute(self) -> float:
        values = self.per_image
        if values.numel() == 0:
            from ..core.errors import InvalidInputError

            raise InvalidInputError(
                f"{type(self).__name__}.compute() called before any update(): nothing to average."
            )
        return float(values.mean())
