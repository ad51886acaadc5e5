"""KernelSHAP on superpixels — Lundberg & Lee, "A Unified Approach to Interpreting Model
Predictions", NeurIPS 2017 (arXiv:1705.07874), theorem 2, with ``shap.KernelExplainer``'s
sampling and constrained regression (shap 0.51, ``KernelExplainer.explain`` / ``solve``).

For one image with M superpixels, f(z) the target score with the superpixels z shown and the
others set to ``fill``:

    π(z) = (M − 1) / (C(M, |z|) · |z| · (M − |z|))          the Shapley kernel
    φ = argmin Σ_z π(z) (f(z) − f(0) − φ·z)²  s.t.  Σ_i φ_i = f(1) − f(0)

Samples as shap draws them: subset sizes s and M − s are paired; from the ends inward every
subset of a size is enumerated while the budget covers it (weight of the size shared among its
subsets), the rest drawn at random — a size from the remaining kernel mass, then a random subset
of it and its complement — repeated draws adding weight to the first; the random samples' weights
are rescaled to the mass left. With ``n_samples >= 2^M − 2`` every subset is enumerated and φ are
the exact Shapley values of the superpixel game. The constraint is imposed by eliminating the
last feature, then weighted least squares (shap's ``l1_reg=False``: no feature selection, every
superpixel gets a value). ``numpy.random.RandomState(seed)`` plays the role of shap's global
``np.random`` (``np.random.seed(seed)`` before ``shap_values`` draws the same samples).

φ_0 = f(0) (every superpixel hidden) is the intercept. The map paints ReLU(φ) on the superpixels,
min-max normalised (see :mod:`camlens.methods._superpixel`).

Shapes: ``(B, C, H, W)`` -> maps ``(B, H, W)``; values per image ``(M_b,)``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..errors import OptionError
from ._superpixel import SuperpixelMethod


def shapley_samples(
    n_features: int, n_samples: int | str, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """``(masks (n, M) 0/1, kernel weights (n,))`` drawn as ``shap.KernelExplainer`` draws
    them (without the empty and full coalitions, which enter through the constraint)."""
    m = n_features
    if n_samples == "auto":
        n_samples = 2 * m + 2**11
    if m <= 30:
        n_samples = min(int(n_samples), 2**m - 2)
    n_samples = int(n_samples)
    masks = np.zeros((n_samples, m))
    weights = np.zeros(n_samples)
    added = 0

    num_subset_sizes = int(np.ceil((m - 1) / 2.0))
    num_paired = int(np.floor((m - 1) / 2.0))
    weight_vector = np.array([(m - 1.0) / (i * (m - i)) for i in range(1, num_subset_sizes + 1)])
    weight_vector[:num_paired] *= 2
    weight_vector /= np.sum(weight_vector)

    num_full = 0
    left = float(n_samples)
    mask = np.zeros(m)
    remaining = weight_vector.copy()
    for size in range(1, num_subset_sizes + 1):
        n_subsets = float(math.comb(m, size))
        if size <= num_paired:
            n_subsets *= 2
        if left * remaining[size - 1] / n_subsets < 1.0 - 1e-8:
            break
        num_full += 1
        left -= n_subsets
        if remaining[size - 1] < 1.0:
            remaining /= 1 - remaining[size - 1]
        w = weight_vector[size - 1] / float(math.comb(m, size))
        if size <= num_paired:
            w /= 2.0
        for inds in itertools.combinations(range(m), size):
            mask[:] = 0.0
            mask[np.array(inds, dtype="int64")] = 1.0
            masks[added], weights[added] = mask, w
            added += 1
            if size <= num_paired:
                masks[added], weights[added] = 1.0 - mask, w
                added += 1

    fixed = added
    samples_left = n_samples - added
    if num_full != num_subset_sizes:
        remaining = weight_vector.copy()
        remaining[:num_paired] /= 2  # two samples per draw below
        remaining = remaining[num_full:]
        remaining /= np.sum(remaining)
        draws = rng.choice(len(remaining), 4 * samples_left, p=remaining)
        position = 0
        used: dict[tuple, int] = {}
        while samples_left > 0 and position < len(draws):
            mask.fill(0.0)
            size = draws[position] + num_full + 1
            position += 1
            mask[rng.permutation(m)[:size]] = 1.0
            key = tuple(mask)
            new = key not in used
            if new:
                used[key] = added
                samples_left -= 1
                masks[added], weights[added] = mask, 1.0
                added += 1
            else:
                weights[used[key]] += 1.0
            if samples_left > 0 and size <= num_paired:
                mask[:] = np.abs(mask - 1)
                if new:
                    samples_left -= 1
                    masks[added], weights[added] = mask, 1.0
                    added += 1
                else:
                    weights[used[key] + 1] += 1.0
        weight_left = np.sum(weight_vector[num_full:])
        weights[fixed:] *= weight_left / weights[fixed:].sum()
    return masks[:added], weights[:added]


def constrained_regression(
    masks: np.ndarray, weights: np.ndarray, scores: np.ndarray, full: float, null: float
) -> np.ndarray:
    """shap's ``solve`` (``l1_reg=False``): weighted least squares with ``Σ φ = full − null``
    imposed by eliminating the last feature."""
    total = full - null
    y = (scores - null) - masks[:, -1] * total
    design = masks[:, :-1] - masks[:, -1:]
    weighted = weights[:, None] * design
    try:
        w = np.linalg.solve(design.T @ weighted, weighted.T @ y)
    except np.linalg.LinAlgError:  # singular (few samples): least squares, as shap
        root = np.sqrt(weights)
        w = np.linalg.lstsq(root[:, None] * design, root * y, rcond=None)[0]
    phi = np.append(w, total - w.sum())
    phi[np.abs(phi) < 1e-10] = 0.0  # shap's clean-up of rounding
    return phi


class KernelSHAP(SuperpixelMethod):
    """KernelSHAP. Keyword options (besides those of :class:`SuperpixelMethod`: segmentation,
    segments, fill, batch_size, seed):

    n_samples: coalitions per image besides the empty and full ones; ``"auto"`` (shap's
        default) is ``2·M + 2048``, at most ``2^M − 2`` (then every coalition: exact values).

    The map is the Shapley value of each superpixel, estimated by the Shapley-kernel-weighted linear
    regression of Lundberg & Lee (2017), painted on the superpixels, ReLU, min-max normalised per
    image. Shapes: input ``(B, C, H, W)`` -> maps ``(B, H, W)`` in [0, 1].

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import ClassTarget
        >>> method = KernelSHAP(model, n_samples=50, seed=0)
        >>> maps = method(x, targets=[ClassTarget(0), ClassTarget(2)])
        >>> maps.shape
        torch.Size([2, 8, 8])
    """

    name = "kernelshap"
    aliases = ("shap",)

    label = "KernelSHAP"

    def __init__(
        self,
        model: Any,
        target_layers: Any = None,
        reshape_transform: Any = None,
        *,
        n_samples: int | str = "auto",
        **options: Any,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, **options)
        if n_samples != "auto" and (
            isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1
        ):
            raise OptionError(f"n_samples must be 'auto' or a positive int, got {n_samples!r}.")
        self.n_samples = n_samples

    def draw(self, n_features: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        """Rows 0 and 1 are the full and empty coalitions (f(1), f(0)); then shap's samples."""
        if n_features < 2:  # shap: one feature has all the effect, nothing is drawn
            masks, weights = np.zeros((0, n_features)), np.zeros(0)
        else:
            masks, weights = shapley_samples(n_features, self.n_samples, rng)
        ends = np.stack([np.ones(n_features), np.zeros(n_features)])
        return np.concatenate([ends, masks]).astype(np.int64), weights

    def fit(
        self, samples: np.ndarray, scores: np.ndarray, state: np.ndarray
    ) -> tuple[np.ndarray, float]:
        full, null = float(scores[0]), float(scores[1])
        if samples.shape[1] < 2:
            return np.full(samples.shape[1], full - null), null
        phi = constrained_regression(samples[2:].astype(np.float64), state, scores[2:], full, null)
        return phi, null
