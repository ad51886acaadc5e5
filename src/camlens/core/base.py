"""The tiny base every CAM method builds on.

Data path, top to bottom: input -> ``capture`` (activations A, gradients G) -> per-layer map
(``layer_map``: channel weights, weighted sum, or a projection) -> ReLU -> upsample -> normalise.
A method overrides one function: ``channel_weights(A, G)`` when its map is ``Σ_k w_k A^k``, or
``weighted_activations`` / ``layer_map`` when it is not. A method that needs a capture of its own
(noisy copies, second-order terms, patches, the input gradient) overrides :meth:`BaseCAM.capture`
alone, returning a :class:`Capture` (or a subclass with its extra terms): the pipeline around it,
``aug_smooth`` included, stays the base's.
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
from .contract import (
    ACTIVATIONS,
    GRADIENTS,
    Adapter,
    Capture,
    ReshapeTransform,
    check_input,
    check_supported,
    checks_once,
)
from .errors import TargetError
from .layers import LayersSpec
from .postprocess import fuse_paper
from .projection import first_principal_component
from .registry import METHODS, register_method


def _float(t: Tensor) -> Tensor:
    """float32 for half/bfloat16/integer maps; float64 stays float64 (gradcheck, training)."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def runnable(adapter: Adapter) -> list[str]:
    """The registered methods whose needs ``adapter`` meets (for error messages)."""
    return [name for name, cls in METHODS.items() if cls.needs() <= adapter.capabilities]


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

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import ClassTarget, GradCAM
        >>> with GradCAM(model, target_layers="0") as cam:
        ...     explanation = cam.explain(x, targets=[ClassTarget(0), ClassTarget(2)])
        >>> explanation.maps.shape, explanation.scores.shape, list(explanation.per_layer)
        (torch.Size([2, 8, 8]), torch.Size([2]), ['0'])
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
    adapter: Adapter | None


@dataclass(frozen=True)
class CaptureOptions:
    """What the pipeline asks of :meth:`BaseCAM.capture` besides the input and the targets.

    rank_rows: for each image, the row whose logits rank the classes for top-k targets (under
        ``aug_smooth``, the un-augmented image's); ``None``: its own row.
    eigen_smooth: as asked of the explanation, for captures that run a method themselves (SESS).
    """

    rank_rows: Tensor | None = None
    eigen_smooth: bool = False


@dataclass
class TopK:
    """Maps of each image's k best classes from one forward pass.

    maps ``(B, k, *input_spatial)``, indices ``(B, k)`` class indices, scores ``(B, k)`` logits,
    probabilities ``(B, k)`` softmax.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import GradCAM
        >>> with GradCAM(model, target_layers="0") as cam:
        ...     top = cam.topk(x, k=2)
        >>> top.maps.shape, top.indices.shape
        (torch.Size([2, 2, 8, 8]), torch.Size([2, 2]))
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

    A method defines the channel weights ``α = channel_weights(A, ∂y/∂A)`` of
    ``L = ReLU(Σ_k α_k A^k)``, upsampled to the input and min-max normalised per image. Shapes:
    input ``(B, C, H, W)`` -> maps ``(B, H, W)``; A, ∂y/∂A ``(B, C, h, w)`` -> α ``(B, C)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> class MeanActivationCAM(BaseCAM):  # α_k = 1: the activations summed over channels
        ...     def channel_weights(self, activations, gradients, ctx):
        ...         return torch.ones(activations.shape[:2])
        >>> with MeanActivationCAM(model, target_layers="0") as cam:
        ...     maps = cam(x)
        >>> maps.shape, bool(maps.min() >= 0), bool(maps.max() <= 1)
        (torch.Size([2, 8, 8]), True, True)
    """

    uses_gradients: ClassVar[bool] = True
    #: What the method needs of the model's adapter (:mod:`camlens.core.contract`); ``None``:
    #: activations, and gradients when ``uses_gradients``.
    requires: ClassVar[frozenset[str] | None] = None
    # False for methods that build their own capture (noisy copies, patches, second-order terms,
    # contrastive targets): camlens.explain runs those on their own instead of sharing one.
    # A method that overrides ``capture`` never shares (see :func:`can_share_capture`).
    shares_capture: ClassVar[bool] = True
    #: True when ``aug_smooth`` cannot change the maps (the six normalised maps are one map):
    #: the augmentation is then not run (Sobel-CAM).
    augmentation_invariant: ClassVar[bool] = False
    #: The method's name in :data:`camlens.methods.METHODS` (``"gradcam++"``) and its other
    #: spellings; a class that sets ``name`` itself is registered when it is defined
    #: (:mod:`camlens.core.registry`).
    name: ClassVar[str | None] = None
    aliases: ClassVar[tuple[str, ...]] = ()
    fuse = staticmethod(fuse_paper)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            if "aliases" not in cls.__dict__:
                cls.aliases = ()  # a method's spellings are its own, not its base's
            register_method(cls)
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
        return self.adapter.prepare_input(input_tensor)

    def capture(self, x: Tensor, target_sets: Sequence[object], options: CaptureOptions) -> Capture:
        """The one capture extension point: what :meth:`explanations` turns into maps.

        The default is the adapter's capture (one forward pass, one gradient per target set when
        the method uses gradients). A method that needs a capture of its own overrides this
        alone and returns a :class:`Capture`, or a subclass holding its extra terms for its
        :meth:`explanations` (Smooth Grad-CAM++'s noisy copies, Shapley-CAM's Hessian products,
        SESS's patches, FullGrad's bias terms).

        x: the prepared input ``(B, C, *spatial)`` (``6B`` images under ``aug_smooth``).
        """
        return self.adapter.capture(
            x,
            target_sets,
            gradients=self.uses_gradients,
            differentiable=self.differentiable,
            rank_rows=options.rank_rows,
        )

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
        """One :class:`Explanation` per target set, from a single :meth:`capture`.

        Methods override :meth:`capture` (what is captured) and the math
        (:meth:`channel_weights`, :meth:`layer_map` or :meth:`explanations`), not this; only
        Finer-CAM (its contrast fixed on the clean images first) and the attention methods
        (which take no smoothing) wrap it.
        """

        def run(
            x: Tensor, sets: Sequence[object], rank_rows: Tensor | None = None
        ) -> list[Explanation]:
            capture = self.capture(x, sets, CaptureOptions(rank_rows, eigen_smooth))
            return self.explanations(capture, eigen_smooth=eigen_smooth)

        with checks_once():  # the adapter's capture does not sum the batch again
            x = self.prepare_input(input_tensor)
            if aug_smooth and not self.augmentation_invariant:
                return smoothing.smoothed(run, x, target_sets)
            return run(x, target_sets)

    def empty_explanations(
        self, input_tensor: object, target_sets: Sequence[object]
    ) -> list[Explanation]:
        """For a batch of 0 images: ``(0, *input_spatial)`` maps, no method math. The model
        still runs on the empty batch (for the outputs and each layer's grid) when it can."""
        x = check_input(self.prepare_input(input_tensor))
        names = list(self.adapter.layer_names)
        empty = x.new_zeros((0, *x.shape[2:]), dtype=torch.float32)
        capture, outputs = None, x.new_zeros((0, 0))
        try:
            capture = self.adapter.capture(x, target_sets, gradients=False)
        except Exception:  # e.g. an adapter that cannot run without gradients
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


def can_share_capture(cam: BaseCAM) -> bool:
    """Whether ``cam`` can explain from a capture made for other methods (:func:`camlens.explain`):
    it takes the adapter's plain capture (does not override :meth:`BaseCAM.capture` or the
    pipeline) and does not refuse sharing (``shares_capture``)."""
    cls = type(cam)
    return (
        cls.shares_capture
        and cls.capture is BaseCAM.capture
        and cls.explain_targets is BaseCAM.explain_targets
    )
