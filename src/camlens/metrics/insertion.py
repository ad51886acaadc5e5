"""Insertion AUC (Petsiuk et al., RISE, BMVC 2018, sec. 4.1).

Starts from the baseline (a blurred copy of the image by default, as in RISE) and puts back the
input's pixels, most relevant first, at counts ``c_k = 0, s, ..., n`` (s = ceil(n / steps)):

    curve_i(f_k) = p(class_i | baseline_i with x_i's top c_k pixels inserted),   f_k = c_k / n
    AUC_i = trapezoid(curve_i, f)

Higher is better. Options, curves and chunking as :class:`~camlens.metrics.deletion.Deletion`.
Same numbers as ``torchcam.metrics.DeletionInsertionMetric`` (its ``insertion_auc``) with the
same steps and baseline (torchcam's default baseline is zeros: pass ``baseline="zeros"``).
"""

from __future__ import annotations

from .deletion import Deletion


class Insertion(Deletion):
    """Area under the insertion curve; higher is better.

    ``AUC_i = trapezoid(p(class_i | baseline_i with x_i's top c_k pixels inserted), c_k / n)``.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = Insertion(steps=4)
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model)
        >>> 0.0 <= metric.compute() <= 1.0
        True
    """

    name = "insertion"
    higher_is_better = True
    insertion = True
    default_baseline = "blur"
