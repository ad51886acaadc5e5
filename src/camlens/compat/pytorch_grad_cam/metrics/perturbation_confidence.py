"""``pytorch_grad_cam.metrics.perturbation_confidence``: score change under a perturbation.

    result_i = target_i(model(perturb(x_i, cam_i))) - target_i(model(x_i))

(``return_diff=False``: the first term only). ``perturbation(image (C, H, W), cam (H, W))`` is
called per image on the CPU, as in pytorch-grad-cam; the perturbed images go through the model in
one batch. ``RemoveMostRelevantFirst(p, imputer)`` imputes the pixels at or above the p-th
percentile of the map (``"auto"``: keeps the pixels above Otsu's threshold of ``uint8(255·map)``
and imputes the rest, pytorch-grad-cam's (inverted) convention, reproduced exactly without
OpenCV). Differences from pytorch-grad-cam: a targets list whose length differs from the batch
raises :class:`~camlens.core.errors.InvalidInputError` instead of being silently truncated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ....core.errors import InvalidInputError
from ._otsu import otsu_binary

__all__ = [
    "AveragerAcrossThresholds",
    "PerturbationConfidenceMetric",
    "RemoveLeastRelevantFirst",
    "RemoveMostRelevantFirst",
]

Perturbation = Callable[[Tensor, Tensor], Tensor]


def check_batch(input_tensor: Tensor, cams: np.ndarray, targets: Any, metric: str) -> None:
    """One cam and one target callable per image, else :class:`InvalidInputError`."""
    if not isinstance(input_tensor, Tensor) or input_tensor.ndim < 2:
        raise InvalidInputError(f"{metric}: input_tensor must be a (B, C, H, W) torch.Tensor.")
    n = input_tensor.shape[0]
    if targets is None or callable(targets) or len(targets) != n:
        got = "None" if targets is None else type(targets).__name__
        if targets is not None and not callable(targets):
            got = f"{len(targets)} targets"
        raise InvalidInputError(
            f"{metric}: pass one target per image ({n}), e.g. "
            f"[ClassifierOutputSoftmaxTarget(c) for c in classes]; got {got}."
        )
    if len(cams) != n:
        raise InvalidInputError(f"{metric}: {len(cams)} cams for {n} images; pass one per image.")


def target_scores(targets: Sequence[Callable], outputs: Tensor) -> np.ndarray:
    """``np.float32([target_i(output_i) for i])``, as pytorch-grad-cam scores a batch."""
    scores = [target(output).cpu().numpy() for target, output in zip(targets, outputs, strict=True)]
    return np.asarray(scores, dtype=np.float32)


class PerturbationConfidenceMetric:
    """Score after ``perturbation`` minus the score before, per image (see the module doc)."""

    def __init__(self, perturbation: Perturbation) -> None:
        self.perturbation = perturbation

    def __call__(
        self,
        input_tensor: Tensor,
        cams: np.ndarray,
        targets: list[Callable],
        model: nn.Module,
        return_visualization: bool = False,
        return_diff: bool = True,
    ) -> np.ndarray | tuple[np.ndarray, Tensor]:
        """``(B,)`` float32 scores; with ``return_visualization`` also the perturbed batch."""
        check_batch(input_tensor, cams, targets, type(self).__name__)
        if return_diff:
            with torch.no_grad():
                scores = target_scores(targets, model(input_tensor))
        images = input_tensor.cpu()
        perturbed = torch.stack(
            [self.perturbation(images[i], torch.from_numpy(cams[i])) for i in range(len(images))]
        ).to(input_tensor.device)
        with torch.no_grad():
            after = target_scores(targets, model(perturbed))
        result = after - scores if return_diff else after
        return (result, perturbed) if return_visualization else result


class RemoveMostRelevantFirst:
    """``imputer(image, keep)`` with keep = map < p-th percentile (``"auto"``: Otsu, above)."""

    def __init__(self, percentile: float | str, imputer: Perturbation) -> None:
        self.percentile = percentile
        self.imputer = imputer

    def __call__(self, input_tensor: Tensor, mask: Tensor) -> Tensor:
        if self.percentile != "auto":
            threshold = np.percentile(mask.cpu().numpy(), float(self.percentile))
            binary_mask = np.float32(mask.cpu() < threshold)  # torch's comparison, as pgc
        else:
            binary_mask = otsu_binary(np.uint8((mask * 255).cpu().numpy()))
        return self.imputer(input_tensor, torch.from_numpy(binary_mask).to(mask.device))


class RemoveLeastRelevantFirst(RemoveMostRelevantFirst):
    """:class:`RemoveMostRelevantFirst` on ``1 - map``: the least relevant pixels go first."""

    def __call__(self, input_tensor: Tensor, mask: Tensor) -> Tensor:
        return super().__call__(input_tensor, 1 - mask)


class AveragerAcrossThresholds:
    """Mean over ``percentiles`` of ``imputer(percentile)(input_tensor, cams, targets, model)``."""

    def __init__(
        self,
        imputer: Callable[[Any], Callable[..., np.ndarray]],
        percentiles: list[float] = [10, 20, 30, 40, 50, 60, 70, 80, 90],  # noqa: B006 (as pgc)
    ) -> None:
        self.imputer = imputer
        self.percentiles = percentiles

    def __call__(
        self,
        input_tensor: Tensor,
        cams: np.ndarray,
        targets: list[Callable],
        model: nn.Module,
    ) -> np.ndarray:
        """``(B,)`` float32 mean score change over the percentiles."""
        scores = [self.imputer(p)(input_tensor, cams, targets, model) for p in self.percentiles]
        return np.mean(np.asarray(scores, dtype=np.float32), axis=0)
