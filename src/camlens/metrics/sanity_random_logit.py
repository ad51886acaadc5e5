"""Random-logit test (Sixt, Granz & Landgraf, "When explanations lie", ICML 2020, sec. 5):
explain a random other class instead of the target and compare.

    rho_i = Spearman(L_i(target_i), L_i(c_i)),   c_i uniform over the classes != target_i

Lower is better: a class-sensitive method gives another map for another class; a method that
ignores the class (edge detector, Eigen-CAM, fixed map) keeps rho = 1. The paper compares with
SSIM; we use Spearman rank correlation, as the randomisation test. ``seed`` fixes the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ._method import MethodSpec, as_method, spearman
from ._utils import as_maps, check_inputs, class_indices, model_logits, need
from .base import PerImageMetric


class SanityRandomLogit(PerImageMetric):
    """Spearman correlation of the target's map with a random other class's map.

    ``rho_i = Spearman(L_i(target_i), L_i(c_i))``, ``c_i`` a random other class; lower is better.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = SanityRandomLogit()
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model,
        ...               method="gradcam", method_kwargs={"target_layers": "0"})
        >>> -1.0 <= metric.compute() <= 1.0
        True
    """

    name = "sanity_random_logit"
    higher_is_better = False
    requires = frozenset({"model", "method"})

    def __init__(
        self,
        method: MethodSpec | None = None,
        method_kwargs: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.method, self.method_kwargs, self.seed = method, method_kwargs, seed
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._generator = torch.Generator().manual_seed(self.seed)
        self._classes: list[Tensor] = []

    @property
    def random_classes(self) -> Tensor:
        """``(N,)`` the random class explained for each image."""
        return torch.cat(self._classes) if self._classes else torch.zeros(0, dtype=torch.long)

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        method: MethodSpec | None = None,
        method_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        inputs, model = check_inputs(inputs), need(model, "model", type(self).__name__)
        maps = as_maps(maps, inputs)
        run = as_method(method or self.method, model, method_kwargs or self.method_kwargs)
        logits = model_logits(model, inputs)
        classes = logits.shape[1]
        if classes < 2:
            raise InvalidInputError("the random-logit test needs a model with >= 2 classes.")
        index = class_indices(targets, inputs.shape[0], torch.device("cpu"), logits.cpu())
        shift = torch.randint(1, classes, index.shape, generator=self._generator)
        other = ((index + shift) % classes).to(inputs.device)
        self._classes.append(other.cpu())
        self._values.append(spearman(maps, as_maps(run(model, inputs, other), inputs)))
