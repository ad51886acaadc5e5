"""The tiny base every CAM method builds on.

Data path, top to bottom: input -> capture (activations A, gradients G) -> per-layer map
(``layer_map``: channel weights, weighted sum, or a projection) -> ReLU -> upsample -> normalise.
A method overrides one function: ``channel_weights(A, G)`` when its map is ``Σ_k w_k A^k``, or
``weighted_activations`` / ``layer_map`` when it is not.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn

from ..targets import RankTarget
from . import smoothing
from .adapters import make_adapter
from .capture import Capture, ReshapeTransform, check_input
from .contract import ACTIVATIONS, GRADIENTS, check_supported
from .errors import TargetError
from .layers import LayersSpec
from .postprocess import fuse_paper
from .projection import first_principal_component


def _float(t: Tensor) -> Tensor:
    """float32 for half/bfloat16/integer maps; float64 stays float64 (gradcheck, training)."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def runnable(adapter: object) -> list[str]:
    """The registered methods whose needs ``adapter`` meets (for error messages)."""
    from ..methods import METHODS  # the registry of methods (registered above this layer)

    have: frozenset[str] = getattr(adapter, "capabilities", frozenset())
    return [name for name, cls in METHODS.items() if cls.needs() <= have]


@dataclass
class Explanation:
    """The result of one explanation of a batch.

    maps:      ``(B, *input_spatial)`` float32 in [0, 1]: the fused map (the only layer's map
               when one layer is given).
    per_layer: layer name -> ``(B, *input_spatial)`` in [0, 1].
    raw:       layer name -> ``(B, *layer_spatial)``: after ReLU, before upsampling/normalising.
    outputs:   ``(B, ...)`` the model's output (logits).
    scores:    ``(B,)`` the explained target scores.
    targets:   the target of each image.
    """

    maps: Tensor
    per_layer: dict[str, Tensor]
    raw: dict[str, Tensor]
    outputs: Tensor
    scores: Tensor
    targets: list[Any]


@dataclass
class LayerContext:
    """What a method may need besides A and G: the input, the targets, the layer, the adapter
    (to run the model again, e.g. Score-CAM's masked inputs)."""

    input: Tensor
    targets: Sequence[Any]
    scores: Tensor
    outputs: Tensor
    layer_name: str
    layer_index: int
    adapter: Any


@dataclass
class TopK:
    """Maps of each image's k best classes from one forward pass.

    maps ``(B, k, *input_spatial)``, indices ``(B, k)`` class indices, scores ``(B, k)`` logits,
    probabilities ``(B, k)`` softmax.
    """

    maps: Tensor
    indices: Tensor
    scores: Tensor
    probabilities: Tensor


def _empty_batch(x: object) -> bool:
    shape = getattr(x, "shape", None)
    return shape is not None and len(shape) >= 3 and shape[0] == 0


def _empty_batch_guard(explain_targets: Callable) -> Callable:
    """``explain_targets`` that answers an empty batch with empty maps (every method, every
    entry point: ``__call__``, ``explain``, ``topk``, ``camlens.explain``)."""

    @functools.wraps(explain_targets)
    def guarded(self: BaseCAM, input_tensor: object, target_sets: Sequence[object], **kw: object):
        if _empty_batch(input_tensor):
            return self.empty_explanations(input_tensor, target_sets)
        return explain_targets(self, input_tensor, target_sets, **kw)

    guarded._empty_batch_guard = True  # type: ignore[attr-defined]
    return guarded


class BaseCAM:
    """Base of the CAM methods: ``cam(input_tensor, targets=None) -> (B, H, W)`` maps in [0, 1].

    Args:
        model: any ``nn.Module`` (left as it is: no ``.eval()``, no module swapped).
        target_layers: a module, a dotted name (``"layer4"``, ``"layer4[-1]"``) or a list of either;
            ``None`` picks one on the first call (see :mod:`camlens.core.discovery`).
        reshape_transform: maps a layer's output to ``(B, C, *spatial)``; by default ViT tokens
            and channel-last maps are reshaped automatically (:mod:`camlens.core.reshape`).
        differentiable: keep the autograd graph so a map can feed a training loss.
    """

    uses_gradients: ClassVar[bool] = True
    #: What the method needs of the model's adapter (:mod:`camlens.core.contract`); ``None``:
    #: activations, and gradients when ``uses_gradients``.
    requires: ClassVar[frozenset[str] | None] = None
    # False for methods that build their own capture (noisy copies, patches, second-order terms,
    # contrastive targets): camlens.explain runs those on their own instead of sharing one.
    shares_capture: ClassVar[bool] = True
    fuse = staticmethod(fuse_paper)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("explain_targets")
        if own is not None and not getattr(own, "_empty_batch_guard", False):
            cls.explain_targets = _empty_batch_guard(own)  # type: ignore[method-assign]

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None = None,
        reshape_transform: ReshapeTransform | None = None,
        *,
        differentiable: bool = False,
    ) -> None:
        self.model = model
        self.adapter = make_adapter(model, target_layers, reshape_transform)
        self.differentiable = differentiable
        check_supported(type(self).__name__, self.needs(), self.adapter, runnable(self.adapter))

    @classmethod
    def needs(cls) -> frozenset[str]:
        """The adapter capabilities this method needs."""
        if cls.requires is not None:
            return cls.requires
        return frozenset({ACTIVATIONS, GRADIENTS} if cls.uses_gradients else {ACTIVATIONS})

    # --- method math: override one of these -------------------------------------------------
    # ``gradients`` is None only for methods with ``uses_gradients = False`` (their overrides say
    # ``Tensor | None``); a gradient method's override may take ``Tensor``.
    def channel_weights(self, activations: Tensor, gradients: Tensor, ctx: LayerContext) -> Tensor:
        """``(B, C)`` channel weights w such that the map is ``Σ_k w_k A^k``."""
        raise NotImplementedError(f"{type(self).__name__} defines no channel weights")

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        """``(B, C, *spatial)``: the terms whose channel sum is the map."""
        weights = self.channel_weights(activations, gradients, ctx)
        return weights.view(*weights.shape, *([1] * (activations.ndim - 2))) * activations

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        """``(B, *spatial)`` map of one layer before ReLU: channel sum (or its first PC)."""
        weighted = self.weighted_activations(activations, gradients, ctx)
        return first_principal_component(weighted) if eigen_smooth else weighted.sum(dim=1)

    # --- pipeline ------------------------------------------------------------------------------
    def prepare_input(self, input_tensor: object) -> Tensor:
        """The input as the adapter's torch tensor: Keras takes NHWC numpy / ``tf.Tensor`` and
        gives NCHW torch; PyTorch inputs pass unchanged."""
        prepare = getattr(self.adapter, "prepare_input", None)
        return input_tensor if prepare is None else prepare(input_tensor)

    def __call__(
        self,
        input_tensor: Tensor,
        targets: object = None,
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> Tensor:
        """``(B, *input_spatial)`` float32 maps in [0, 1] on the input's device.

        aug_smooth: average over flips × intensity scalings (see :mod:`camlens.core.smoothing`).
        eigen_smooth: first principal component of the weighted activations instead of their sum.
        """
        return self.explain(
            input_tensor, targets, aug_smooth=aug_smooth, eigen_smooth=eigen_smooth
        ).maps

    def explain(
        self,
        input_tensor: Tensor,
        targets: object = None,
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> Explanation:
        """Like ``__call__`` but returns the :class:`Explanation` (per-layer, raw, scores)."""
        return self.explain_targets(
            input_tensor, [targets], aug_smooth=aug_smooth, eigen_smooth=eigen_smooth
        )[0]

    @_empty_batch_guard
    def explain_targets(
        self,
        input_tensor: Tensor,
        target_sets: Sequence[object],
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> list[Explanation]:
        """One :class:`Explanation` per target set, from a single forward pass."""
        input_tensor = self.prepare_input(input_tensor)
        if aug_smooth:
            batch = check_input(input_tensor).shape[0]
            augmented = smoothing.augment(input_tensor)
            sets = [smoothing.repeat_targets(t, batch) for t in target_sets]
            capture = self.adapter.capture(
                augmented,
                sets,
                gradients=self.uses_gradients,
                differentiable=self.differentiable,
                rank_rows=smoothing.identity_rows(batch, augmented.device),
            )
            results = self.explanations(capture, eigen_smooth=eigen_smooth)
            return [smoothing.deaugment(r, batch) for r in results]
        capture = self.adapter.capture(
            input_tensor,
            target_sets,
            gradients=self.uses_gradients,
            differentiable=self.differentiable,
        )
        return self.explanations(capture, eigen_smooth=eigen_smooth)

    def empty_explanations(
        self, input_tensor: object, target_sets: Sequence[object]
    ) -> list[Explanation]:
        """For a batch of 0 images: ``(0, *input_spatial)`` maps, no method math. The model
        still runs on the empty batch (for the outputs and each layer's grid) when it can."""
        x = check_input(self.prepare_input(input_tensor))
        names = list(getattr(self.adapter, "layer_names", []))
        empty = x.new_zeros((0, *x.shape[2:]), dtype=torch.float32)
        capture, outputs = None, x.new_zeros((0, 0))
        try:
            capture = self.adapter.capture(x, target_sets, gradients=False)
        except Exception:  # e.g. a method's own adapter that needs gradients
            # a model that cannot take an empty batch: maps need no forward
            with contextlib.suppress(Exception):
                outputs = self.adapter.predict(x)
        results = []
        for t in range(len(target_sets)):
            if capture is None:
                raw = dict.fromkeys(names, empty)
                scores = x.new_zeros((0,))
            else:
                names = capture.layer_names
                raw = {
                    n: a.new_zeros((0, *a.shape[2:]), dtype=torch.float32)
                    for n, a in zip(names, capture.activations, strict=True)
                }
                outputs, scores = capture.outputs, capture.scores[t]
            results.append(
                Explanation(empty, dict.fromkeys(names, empty), raw, outputs, scores, [])
            )
        return results

    def topk(
        self,
        input_tensor: Tensor,
        k: int = 5,
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> TopK:
        """Maps of each image's ``k`` best classes, sharing one forward pass."""
        if k < 1:
            raise TargetError(f"k must be >= 1, got {k}.")
        results = self.explain_targets(
            input_tensor,
            [RankTarget(r) for r in range(k)],
            aug_smooth=aug_smooth,
            eigen_smooth=eigen_smooth,
        )
        outputs = results[0].outputs.detach()
        indices = torch.tensor(
            [[t.category for t in r.targets] for r in results], dtype=torch.long
        ).T
        indices = indices.to(outputs.device)
        return TopK(
            maps=torch.stack([r.maps for r in results], dim=1),
            indices=indices,
            scores=outputs.gather(1, indices),
            probabilities=torch.softmax(outputs, dim=-1).gather(1, indices),
        )

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        """Turn a :class:`Capture` into one :class:`Explanation` per target set."""
        results = []
        for t, targets in enumerate(capture.targets):
            raw = []
            for layer, activations in enumerate(capture.activations):
                # None only for a method without gradients (see channel_weights)
                grads = cast(Tensor, capture.gradients[t][layer] if capture.gradients else None)
                ctx = LayerContext(
                    input=capture.inputs,
                    targets=targets,
                    scores=capture.scores[t],
                    outputs=capture.outputs,
                    layer_name=capture.layer_names[layer],
                    layer_index=layer,
                    adapter=capture.adapter,
                )
                raw.append(
                    _float(torch.relu(self.layer_map(activations, grads, ctx, eigen_smooth)))
                )
            per_layer, fused = self.fuse(raw, capture.inputs.shape[2:])
            results.append(
                Explanation(
                    maps=fused,
                    per_layer=dict(zip(capture.layer_names, per_layer, strict=True)),
                    raw=dict(zip(capture.layer_names, raw, strict=True)),
                    outputs=capture.outputs,
                    scores=capture.scores[t],
                    targets=list(targets),
                )
            )
        return results

    # --- context manager: hooks live only during a call, so there is nothing to leak ----------
    def __enter__(self) -> BaseCAM:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
