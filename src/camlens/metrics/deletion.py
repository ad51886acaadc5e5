"""Deletion AUC (Petsiuk et al., RISE, BMVC 2018, sec. 4.1).

Pixels are ranked by the map, highest first (ties: stable, row-major). At counts
``c_k = 0, s, 2s, ..., n`` (n = H·W, s = ceil(n / steps)) the c_k top pixels of the input are
replaced by a baseline (all channels), and the explained class's score is recorded:

    curve_i(f_k) = p(class_i | x_i with its top c_k pixels deleted),   f_k = c_k / n
    AUC_i = trapezoid(curve_i, f)

Lower is better (the score should fall fast). Scores are softmax probabilities, as in RISE
(``score="logit"`` for logits). Baselines: ``"zeros"`` (RISE's deletion, default), ``"blur"``
(Gaussian blur, kernel 11, σ 5: RISE's insertion start), ``"mean"`` (each image's channel means),
a tensor broadcastable to the input, or a callable ``inputs -> baseline``. ``step=`` sets the
pixels per step directly instead of ``steps`` (RISE: 224). The curves are kept for plotting:
``metric.curves`` (N, K) and ``metric.fractions`` (K,). Same numbers as
``torchcam.metrics.DeletionInsertionMetric`` (its ``deletion_auc``) with the same steps/baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ._utils import as_maps, check_inputs, check_score, class_indices, model_logits, need, select
from .base import PerImageMetric

Baseline = str | Tensor | Callable[[Tensor], Tensor]


def make_baseline(baseline: Baseline, inputs: Tensor) -> Tensor:
    """The ``(B, C, H, W)`` input every pixel is replaced by once deleted (or starts from)."""
    if isinstance(baseline, str):
        if baseline == "zeros":
            return torch.zeros_like(inputs)
        if baseline == "mean":
            return inputs.mean(dim=(2, 3), keepdim=True).expand_as(inputs)
        if baseline == "blur":
            return gaussian_blur(inputs, 11, 5.0)
        raise InvalidInputError(
            f"baseline must be 'zeros', 'blur', 'mean', a tensor or a callable, got {baseline!r}."
        )
    value = baseline(inputs) if callable(baseline) else baseline
    try:
        return torch.broadcast_to(torch.as_tensor(value).to(inputs), inputs.shape)
    except RuntimeError:
        raise InvalidInputError(
            f"the baseline (shape {tuple(torch.as_tensor(value).shape)}) does not broadcast to "
            f"the inputs {tuple(inputs.shape)}."
        ) from None


def gaussian_blur(inputs: Tensor, kernel_size: int, sigma: float) -> Tensor:
    """Separable Gaussian blur of (B, C, H, W), reflect padding (as torchvision's)."""
    x = torch.arange(kernel_size, dtype=inputs.dtype, device=inputs.device) - kernel_size // 2
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c, pad = inputs.shape[1], kernel_size // 2
    mode = "reflect" if min(inputs.shape[2:]) > pad else "replicate"
    out = F.pad(inputs, (pad, pad, pad, pad), mode=mode)
    out = F.conv2d(out, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


class Deletion(PerImageMetric):
    """Area under the deletion curve (see the module docstring); lower is better.

    ``AUC_i = trapezoid(p(class_i | x_i with its top c_k pixels deleted), c_k / n)``.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = Deletion(steps=4)
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model)
        >>> 0.0 <= metric.compute() <= 1.0
        True
    """

    name = "deletion"
    higher_is_better = False
    requires = frozenset({"model"})
    insertion: ClassVar[bool] = False
    default_baseline: ClassVar[str] = "zeros"

    def __init__(
        self,
        steps: int = 20,
        baseline: Baseline | None = None,
        score: str = "probability",
        batch_size: int = 64,
        *,
        step: int | None = None,
    ) -> None:
        for option, value in (("steps", steps), ("step", 1 if step is None else step)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{option} must be a positive int, got {value!r}.")
        self.step = step
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size!r}.")
        self.steps, self.score, self.batch_size = steps, check_score(score), batch_size
        self.baseline = self.default_baseline if baseline is None else baseline
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._curves: list[Tensor] = []
        self._fractions: Tensor | None = None

    @property
    def curves(self) -> Tensor:
        """``(N, K)`` score after each step, one row per image (update order)."""
        return torch.cat(self._curves) if self._curves else torch.zeros(0, 0)

    @property
    def fractions(self) -> Tensor:
        """``(K,)`` the fraction of pixels deleted (inserted) at each point of the curves."""
        return self._fractions if self._fractions is not None else torch.zeros(0)

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
        inputs = check_inputs(inputs)
        model = need(model, "model", type(self).__name__)
        maps = as_maps(maps, inputs)
        b, n = inputs.shape[0], maps[0].numel()
        step = self.step or math.ceil(n / self.steps)
        counts = [*range(0, n, step), n]
        fractions = torch.tensor(counts, dtype=torch.float32) / n
        if self._fractions is not None and not torch.equal(self._fractions, fractions):
            raise InvalidInputError(
                "images of another size give other curve fractions; use one metric per size."
            )
        logits = model_logits(model, inputs, self.batch_size)
        index = class_indices(targets, b, logits.device, logits)
        with torch.inference_mode():
            base = make_baseline(self.baseline, inputs)
        order = maps.flatten(1).argsort(dim=1, descending=True, stable=True)
        ranks = order.argsort(dim=1)  # rank of each pixel, 0 = most relevant
        curve = torch.empty(b, len(counts), device=logits.device)
        done = len(counts) - 1 if self.insertion else 0  # the unperturbed input's point
        curve[:, done] = select(logits, index, self.score)
        jobs = [(i, k) for i in range(b) for k in range(len(counts)) if k != done]
        flat_in, flat_base = inputs.flatten(2), base.flatten(2)
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start : start + self.batch_size]
            img = torch.tensor([i for i, _ in chunk], device=inputs.device)
            count = torch.tensor([counts[k] for _, k in chunk], device=inputs.device)
            top = ranks[img] < count[:, None]  # (J, n) the c_k most relevant pixels
            keep = top if self.insertion else ~top
            x = torch.where(keep[:, None], flat_in[img], flat_base[img]).view(-1, *inputs.shape[1:])
            logits_x = model_logits(model, x, self.batch_size)
            img = img.to(logits_x.device)
            point = torch.tensor([k for _, k in chunk], device=logits_x.device)
            curve[img, point] = select(logits_x, index[img], self.score)
        self._fractions = fractions
        self._curves.append(curve.cpu())
        self._values.append(torch.trapezoid(curve.cpu(), fractions, dim=1))
