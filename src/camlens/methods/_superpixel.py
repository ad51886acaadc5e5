"""Shared machinery of the superpixel methods (LIME, KernelSHAP): segment, perturb, regress.

Both explain a model as a black box through :meth:`Adapter.predict` only (no activations, no
gradients, no torch modules), so they run on every adapter (PyTorch, Keras, ONNX, JAX). For each
image:

1. **Segments** ``(H, W)`` labelled ``0..d-1``: scikit-image's ``quickshift`` (the ``lime``
   package's default, with its parameters ``kernel_size=4, max_dist=200, ratio=0.2``), ``slic`` or
   ``felzenszwalb`` on the image min-max rescaled to [0, 1] (channels last), a callable
   ``(H, W, C) float array -> (H, W) labels``, or the user's ``segments=`` mask (any integer
   labels, relabelled to ``0..d-1`` in sorted order).
2. **Samples** ``Z (N, d)`` binary (1: the superpixel is shown), drawn by the method from a
   ``numpy.random.RandomState(seed)`` created per call (images in order), as the reference
   packages draw them.
3. **Perturbed images** ``x ⊙ M + fill ⊙ (1 − M)`` with ``M = Z[:, segments]``, built chunk by
   chunk on the input's device and scored through ``adapter.predict`` in chunks of
   ``batch_size``; every target set of the call is scored on the same forward passes. ``fill``:
   ``"mean"`` (each superpixel's mean colour, ``lime``'s ``hide_color=None``), a number, or a
   tensor broadcastable to the input.
4. **Regression** (the method's): superpixel weights ``φ (d,)``.
5. **Map**: ``φ`` painted on the superpixels, ReLU (the positive evidence, as the CAMs keep), then
   per-image min-max to [0, 1] like every camlens map. The signed weights, intercepts and
   segments stay on the :class:`SuperpixelExplanation` (``painted()``: the signed weights on the
   image). No layer is explained: ``per_layer`` and ``raw`` are empty.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ..core.base import BaseCAM, Explanation
from ..core.capture import ReshapeTransform, check_input, warn_if_training
from ..core.errors import InvalidInputError
from ..core.layers import LayersSpec
from ..core.postprocess import normalize
from ..core.progress import track
from ..core.torch_adapter import TorchAdapter
from ..errors import OptionError
from ..targets import Target, resolve_targets, score_targets

#: The scikit-image segmentations and their default parameters (quickshift: ``lime``'s).
SEGMENTATIONS: dict[str, dict[str, Any]] = {
    "quickshift": {"kernel_size": 4, "max_dist": 200, "ratio": 0.2},
    "slic": {"n_segments": 50, "compactness": 10.0, "start_label": 0},
    "felzenszwalb": {"scale": 100.0, "sigma": 0.5, "min_size": 50},
}

Segmentation = str | Callable[[np.ndarray], np.ndarray]


@dataclass
class SuperpixelExplanation(Explanation):
    """An :class:`Explanation` with what the regression gave.

    segments:   ``(B, H, W)`` long, superpixel labels ``0..d_b-1`` of each image.
    weights:    per image ``(d_b,)`` float64, the signed superpixel weights (LIME's coefficients,
                KernelSHAP's Shapley values) of the explained target.
    intercepts: ``(B,)`` float64 (LIME: the ridge intercept; KernelSHAP: the score with every
                superpixel hidden, ``φ_0``).
    samples:    per image the ``(N_b, d_b)`` binary sample matrix the regression saw.
    """

    segments: Tensor | None = None
    weights: list[Tensor] = field(default_factory=list)
    intercepts: Tensor | None = None
    samples: list[Tensor] = field(default_factory=list)

    def painted(self) -> Tensor:
        """``(B, H, W)`` float64: each pixel holds its superpixel's signed weight."""
        if self.segments is None:
            return self.maps.double()
        return torch.stack(
            [w.to(s.device)[s] for w, s in zip(self.weights, self.segments, strict=True)]
        )


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels ``0..d-1`` in sorted order of the given ones."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64)


def _for_segmentation(image: Tensor) -> np.ndarray:
    """``(C, H, W)`` -> ``(H, W, C)`` float64 in [0, 1] (min-max over the whole image)."""
    array = image.detach().double().cpu().permute(1, 2, 0).numpy()
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def segment_image(
    image: Tensor, segmentation: Segmentation, params: dict[str, Any] | None = None
) -> np.ndarray:
    """``(H, W)`` int64 labels ``0..d-1`` of one ``(C, H, W)`` image."""
    array = _for_segmentation(image)
    if callable(segmentation):
        labels = np.asarray(segmentation(array))
    else:
        from ..extras import require

        skseg = require("skimage.segmentation", "LIME / KernelSHAP segmentation", "lime")
        if segmentation not in SEGMENTATIONS:
            raise InvalidInputError(
                f"unknown segmentation {segmentation!r}; use one of {', '.join(SEGMENTATIONS)}, "
                "a function (H, W, C) -> (H, W) labels, or segments= (a mask)."
            )
        options = {**SEGMENTATIONS[segmentation], **(params or {})}
        channels = array.shape[-1]
        if segmentation == "quickshift" and channels == 1:
            array = np.repeat(array, 3, axis=-1)  # as lime: gray2rgb
        elif segmentation in ("quickshift", "slic") and channels != 3:
            options.setdefault("convert2lab", False)
        labels = getattr(skseg, segmentation)(array, channel_axis=-1, **options)
    if labels.shape != array.shape[:2]:
        raise InvalidInputError(
            f"the segmentation gave labels of shape {labels.shape}, not the image's "
            f"{array.shape[:2]}."
        )
    return _relabel(labels)


def segments_for(
    x: Tensor, segments: Tensor | np.ndarray | None, segmentation: Segmentation, params: dict
) -> Tensor:
    """``(B, H, W)`` long labels ``0..d_b-1`` per image on ``x``'s device."""
    batch, _, height, width = x.shape
    if segments is not None:
        given = torch.as_tensor(
            np.asarray(segments) if not isinstance(segments, Tensor) else segments
        )
        if given.is_floating_point() or given.is_complex() or given.dtype == torch.bool:
            raise InvalidInputError(f"segments must hold integer labels, got {given.dtype}.")
        if given.ndim == 2 and tuple(given.shape) == (height, width):
            given = given.expand(batch, height, width)
        if tuple(given.shape) != (batch, height, width):
            raise InvalidInputError(
                f"segments of shape {tuple(given.shape)} do not fit the input: give (H, W) or "
                f"(B, H, W) = {(batch, height, width)}."
            )
        labels = [_relabel(s.cpu().numpy()) for s in given]
    else:
        labels = [segment_image(image, segmentation, params) for image in x]
    return torch.from_numpy(np.stack(labels)).to(x.device)


def fill_for(x: Tensor, segments: Tensor, fill: float | str | Tensor) -> Tensor:
    """``(B, C, H, W)``: what a hidden superpixel shows."""
    if isinstance(fill, str):
        if fill != "mean":
            raise InvalidInputError(f"fill must be 'mean', a number or a tensor, got {fill!r}.")
        batch, channels = x.shape[:2]
        flat = segments.flatten(1)  # (B, HW)
        count = int(flat.max()) + 1
        sums = x.new_zeros(batch, channels, count).scatter_add_(
            2, flat[:, None].expand(-1, channels, -1), x.flatten(2)
        )
        sizes = torch.zeros(batch, count, dtype=x.dtype, device=x.device).scatter_add_(
            1, flat, torch.ones_like(flat, dtype=x.dtype)
        )
        means = sums / sizes.clamp_min(1)[:, None]
        return means.gather(2, flat[:, None].expand(-1, channels, -1)).view_as(x)
    try:
        value = torch.as_tensor(fill, dtype=x.dtype, device=x.device)
        value = value.expand_as(x)
    except (TypeError, ValueError, RuntimeError):
        shape = tuple(getattr(fill, "shape", ()))
        raise InvalidInputError(
            f"fill must be 'mean', a number or a tensor that broadcasts to the images "
            f"{tuple(x.shape)}; got {type(fill).__name__} {shape or fill!r}."
        ) from None
    if not bool(torch.isfinite(value).all()):
        raise InvalidInputError("fill holds NaN or inf: hidden superpixels must show numbers.")
    return value


class SuperpixelMethod(BaseCAM):
    """Base of LIME and KernelSHAP: ``method(x, targets=None) -> (B, H, W)`` maps in [0, 1].

    Subclasses implement :meth:`draw` (the sample matrix of one image) and :meth:`fit` (the
    superpixel weights from the samples' scores).

    Args:
        model: any model an adapter takes (PyTorch, Keras, ONNX, JAX); only its forward is used.
        target_layers, reshape_transform: ignored (accepted so the method runs beside the CAMs in
            ``camlens.explain`` / ``evaluate``).
        segmentation: ``"quickshift"`` (default), ``"slic"``, ``"felzenszwalb"`` or a callable
            ``(H, W, C) array in [0, 1] -> (H, W) labels``.
        segmentation_params: keyword arguments of the scikit-image function (over the defaults in
            :data:`SEGMENTATIONS`).
        segments: a fixed ``(H, W)`` or ``(B, H, W)`` integer mask instead of a segmentation.
        fill: a hidden superpixel's value: ``"mean"`` (its mean colour), a number or a tensor.
        batch_size: perturbed images per forward pass.
        seed: seed of the ``numpy.random.RandomState`` that draws the samples (fresh per call).
    """

    uses_gradients: ClassVar[bool] = False
    requires: ClassVar[frozenset[str] | None] = frozenset()  # a forward is all it needs
    shares_capture: ClassVar[bool] = False
    #: The label of the progress bar.
    label: ClassVar[str] = "superpixels"

    def __init__(
        self,
        model: nn.Module | Any,
        target_layers: LayersSpec | None = None,
        reshape_transform: ReshapeTransform | None = None,
        *,
        segmentation: Segmentation = "quickshift",
        segmentation_params: dict[str, Any] | None = None,
        segments: Tensor | np.ndarray | None = None,
        fill: float | str | Tensor = "mean",
        batch_size: int = 64,
        seed: int = 0,
        differentiable: bool = False,
    ) -> None:
        if differentiable:
            raise InvalidInputError(
                f"{type(self).__name__} has no autograd graph (it regresses on model outputs); "
                "differentiable=True is for the gradient CAMs."
            )
        super().__init__(model, None, None)
        if not callable(segmentation) and segmentation not in SEGMENTATIONS:
            raise InvalidInputError(
                f"unknown segmentation {segmentation!r}; use one of {', '.join(SEGMENTATIONS)}, "
                "a function (H, W, C) -> (H, W) labels, or segments= (a mask)."
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise OptionError(f"batch_size must be a positive int, got {batch_size!r}.")
        if isinstance(fill, str) and fill != "mean":
            raise InvalidInputError(f"fill must be 'mean', a number or a tensor, got {fill!r}.")
        if isinstance(segments, str):
            raise OptionError(
                f"segments= is a mask of labels; for the {segments!r} segmentation pass "
                f"segmentation={segments!r}."
            )
        try:  # numpy's RandomState takes 0 .. 2**32 - 1
            index = -1 if isinstance(seed, bool) else operator.index(seed)
        except TypeError:
            index = -1
        if not 0 <= index < 2**32:
            raise OptionError(f"seed must be an int from 0 to 2**32 - 1, got {seed!r}.")
        seed = index
        self.segmentation = segmentation
        self.segmentation_params = dict(segmentation_params or {})
        self.segments = segments
        self.fill = fill
        self.batch_size = batch_size
        self.seed = seed

    # --- the method: override these -----------------------------------------------------------
    def draw(self, n_features: int, rng: np.random.RandomState) -> tuple[np.ndarray, Any]:
        """``(Z (N, d) 0/1, state)`` for one image; ``state`` goes to :meth:`fit`."""
        raise NotImplementedError

    def fit(self, samples: np.ndarray, scores: np.ndarray, state: Any) -> tuple[np.ndarray, float]:
        """``(φ (d,), intercept)`` from the samples and their ``(N,)`` scores (float64)."""
        raise NotImplementedError

    # --- pipeline -----------------------------------------------------------------------------
    def explain_targets(
        self,
        input_tensor: Tensor,
        target_sets: Sequence[object],
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> list[Explanation]:
        """One :class:`SuperpixelExplanation` per target set; the samples and their forward
        passes are shared by every set. ``eigen_smooth`` has no activations to act on (ignored)."""
        if aug_smooth:
            raise InvalidInputError(
                f"aug_smooth does not apply to {type(self).__name__} (its samples already "
                "perturb the image); leave it off."
            )
        x = check_input(self.prepare_input(input_tensor)).detach()
        if x.ndim != 4:
            raise InvalidInputError(
                f"{type(self).__name__} takes images (B, C, H, W); got shape {tuple(x.shape)}."
            )
        if not target_sets:
            raise InvalidInputError("target_sets is empty: give at least one set of targets.")
        if isinstance(self.adapter, TorchAdapter):  # its CAMs' capture warns the same
            warn_if_training(self.model, "the samples' scores", stacklevel=5)
        logits = self.adapter.predict(x).clone()
        batch = x.shape[0]
        resolved = [resolve_targets(t, logits, batch) for t in target_sets]
        clean = [score_targets(r, logits).detach() for r in resolved]
        segments = segments_for(x, self.segments, self.segmentation, self.segmentation_params)
        fill = fill_for(x, segments, self.fill)

        rng = np.random.RandomState(self.seed)
        drawn = []
        for b in range(batch):
            d = int(segments[b].max()) + 1
            drawn.append(self.draw(d, rng))
        scores = self._score_samples(x, fill, segments, [z for z, _ in drawn], resolved)

        results: list[Explanation] = []
        for t, targets in enumerate(resolved):
            weights, intercepts = [], []
            for b, (z, state) in enumerate(drawn):
                bad = int(np.count_nonzero(~np.isfinite(scores[t][b])))
                if bad:  # the regression would give NaN weights, painted as a zero map
                    raise InvalidInputError(
                        f"the model's score is NaN or inf on {bad} of the {len(z)} perturbed "
                        f"images of image {b}: {type(self).__name__} cannot fit them. Give a "
                        "fill= the model scores finitely, or a target that stays finite."
                    )
                phi, intercept = self.fit(z, scores[t][b], state)
                weights.append(torch.from_numpy(np.asarray(phi, dtype=np.float64)))
                intercepts.append(float(intercept))
            painted = torch.stack(
                [w.to(x.device)[s] for w, s in zip(weights, segments, strict=True)]
            ).float()
            results.append(
                SuperpixelExplanation(
                    maps=normalize(torch.relu(painted)),
                    per_layer={},
                    raw={},
                    outputs=logits,
                    scores=clean[t],
                    targets=list(targets),
                    segments=segments,
                    weights=weights,
                    intercepts=torch.tensor(intercepts, dtype=torch.float64),
                    samples=[torch.from_numpy(z) for z, _ in drawn],
                )
            )
        return results

    def _score_samples(
        self,
        x: Tensor,
        fill: Tensor,
        segments: Tensor,
        samples: list[np.ndarray],
        resolved: list[list[Target]],
    ) -> list[list[np.ndarray]]:
        """``scores[t][b]``: ``(N_b,)`` float64 scores of target set ``t`` on image ``b``'s
        perturbed copies, scored in chunks of ``batch_size`` (copies of several images mixed)."""
        offsets = np.cumsum([0] + [len(z) for z in samples])
        shown = [torch.from_numpy(z.astype(bool)).to(x.device) for z in samples]
        out = [[np.empty(len(z)) for z in samples] for _ in resolved]
        total = int(offsets[-1])
        with track(total, self.label) as tracker:
            for start in range(0, total, self.batch_size):
                stop = min(start + self.batch_size, total)
                # the images this chunk covers and the rows of each (sample rows are image-major)
                pieces = []
                for b in range(len(samples)):
                    lo, hi = max(start, offsets[b]), min(stop, offsets[b + 1])
                    if lo < hi:
                        pieces.append((b, int(lo - offsets[b]), int(hi - offsets[b])))
                copies = torch.cat(
                    [
                        torch.where(shown[b][lo:hi][:, segments[b]][:, None], x[b], fill[b])
                        for b, lo, hi in pieces
                    ]
                )
                logits = self.adapter.predict(copies)
                owners = [resolved_b for b, lo, hi in pieces for resolved_b in [b] * (hi - lo)]
                for t, targets in enumerate(resolved):
                    with torch.inference_mode():
                        chunk = score_targets([targets[b] for b in owners], logits)
                    values = chunk.detach().double().cpu().numpy()
                    at = 0
                    for b, lo, hi in pieces:
                        out[t][b][lo:hi] = values[at : at + hi - lo]
                        at += hi - lo
                tracker.update(stop - start)
        return out

    def empty_explanations(
        self, input_tensor: object, target_sets: Sequence[object]
    ) -> list[Explanation]:
        """``(0, H, W)`` maps for an empty batch (no forward pass is needed)."""
        x = check_input(self.prepare_input(input_tensor))
        empty = x.new_zeros((0, *x.shape[2:]), dtype=torch.float32)
        return [
            SuperpixelExplanation(empty, {}, {}, x.new_zeros((0, 0)), x.new_zeros((0,)), [])
            for _ in target_sets
        ]
