"""LIME on superpixels — Ribeiro, Singh & Guestrin, "'Why Should I Trust You?': Explaining the
Predictions of Any Classifier", KDD 2016 (arXiv:1602.04938), sec. 3, with the ``lime`` package's
image explainer (``LimeImageExplainer``, 0.2.0.1) for every default.

For one image with d superpixels and the target score f:

    z_n ~ U{0, 1}^d, n = 1..N; z_1 = 1 (the image itself)    samples (lime's ``data_labels``)
    y_n = f(x ⊙ M(z_n) + fill ⊙ (1 − M(z_n)))                 M(z): the shown superpixels' pixels
    D_n = cosine distance(z_n, 1)                              (``distance_metric``)
    π_n = sqrt(exp(−D_n² / σ²)),  σ = ``kernel_width`` = 0.25   (lime's exponential kernel)
    (φ, b) = argmin Σ_n π_n (y_n − b − φ·z_n)² + α‖φ‖²,  α = 1  (sklearn ``Ridge(alpha=1)``)

φ are the superpixel weights of the target (all d kept: lime's default ``num_features=100000``
selects every one). The samples come from ``numpy.random.RandomState(seed).randint(0, 2, N·d)``
per image in order, exactly as ``LimeImageExplainer(random_state=seed)`` draws them; the default
fill is each superpixel's mean colour (lime's ``hide_color=None``). The map paints ReLU(φ) on the
superpixels, min-max normalised (see :mod:`camlens.methods._superpixel`).

Shapes: ``(B, C, H, W)`` -> maps ``(B, H, W)``; weights per image ``(d_b,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import OptionError
from ._superpixel import SuperpixelMethod


def exponential_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """lime's similarity kernel ``sqrt(exp(−d² / width²))``."""
    return np.sqrt(np.exp(-(distances**2) / kernel_width**2))


class LIME(SuperpixelMethod):
    """LIME. Keyword options (besides those of :class:`SuperpixelMethod`: segmentation,
    segments, fill, batch_size, seed):

    n_samples: N, perturbed samples per image (lime: 1000), the image itself included.
    kernel_width: σ of the exponential kernel on the distances (lime's image default 0.25).
    kernel: a function ``distances (N,) -> weights (N,)`` replacing the exponential kernel.
    distance_metric: any ``sklearn.metrics.pairwise_distances`` metric (lime: ``"cosine"``).
    alpha: the ridge penalty (lime: 1).

    The map is the ridge coefficient of each superpixel in a weighted linear fit of the scores of
    ``N`` perturbed images, painted on the superpixels, ReLU, min-max normalised per image. Shapes:
    input ``(B, C, H, W)`` -> maps ``(B, H, W)`` in [0, 1].

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import ClassTarget
        >>> method = LIME(model, n_samples=50, seed=0)
        >>> maps = method(x, targets=[ClassTarget(0), ClassTarget(2)])
        >>> maps.shape
        torch.Size([2, 8, 8])
    """

    name = "lime"

    label = "LIME"

    def __init__(
        self,
        model: Any,
        target_layers: Any = None,
        reshape_transform: Any = None,
        *,
        n_samples: int = 1000,
        kernel_width: float = 0.25,
        kernel: Callable[[np.ndarray], np.ndarray] | None = None,
        distance_metric: str = "cosine",
        alpha: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, **options)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
            raise OptionError(f"n_samples must be an int >= 2, got {n_samples!r}.")
        if kernel is None and not kernel_width > 0:
            raise OptionError(f"kernel_width must be > 0, got {kernel_width!r}.")
        self.n_samples = n_samples
        self.kernel_width = float(kernel_width)
        self.kernel = kernel
        self.distance_metric = distance_metric
        self.alpha = alpha

    def draw(self, n_features: int, rng: np.random.RandomState) -> tuple[np.ndarray, None]:
        """lime's ``data_labels``: ``randint(0, 2, N·d)`` reshaped, first row all ones."""
        samples = rng.randint(0, 2, self.n_samples * n_features).reshape(
            (self.n_samples, n_features)
        )
        samples[0, :] = 1
        return samples, None

    def sample_weights(self, samples: np.ndarray) -> np.ndarray:
        """``π (N,)``: the kernel on each sample's distance to the image (the all-ones row)."""
        from sklearn.metrics import pairwise_distances

        distances = pairwise_distances(
            samples, samples[0].reshape(1, -1), metric=self.distance_metric
        ).ravel()
        if self.kernel is not None:
            return np.asarray(self.kernel(distances), dtype=np.float64)
        return exponential_kernel(distances, self.kernel_width)

    def fit(self, samples: np.ndarray, scores: np.ndarray, state: None) -> tuple[np.ndarray, float]:
        """Weighted ridge regression of the scores on the samples (sklearn's ``Ridge``)."""
        from ..extras import require

        linear = require("sklearn.linear_model", "LIME's ridge regression", "lime")
        model = linear.Ridge(alpha=self.alpha, fit_intercept=True)
        model.fit(samples, scores, sample_weight=self.sample_weights(samples))
        return np.asarray(model.coef_, dtype=np.float64), float(model.intercept_)
