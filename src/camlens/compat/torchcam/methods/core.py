"""Mirror of ``torchcam.methods.core``: the extractor protocol over a camlens method.

torchcam's protocol: the extractor hooks the model; the user runs ``scores = model(x)``; then
``extractor(class_idx, scores)`` returns one ``(B, h, w)`` map per target layer, at the layer's
resolution, min-max normalised as torchcam does (``(L - min) / (max - min + 1e-8)``).

Here a forward pre-hook keeps the input of the user's last forward pass, and the camlens method
(set up with torchcam's conventions) explains that input when the extractor is called: the maps
are the ones the user's pass gives (same input, same weights; for a model in ``eval()`` mode).
``scores`` is checked, not differentiated: nothing of the user's graph is kept or needed, so
``retain_graph`` is accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ....core.base import BaseCAM
from ....errors import NotForwardedError, TargetError
from ....targets import ClassTarget
from ..._layer_maps import layer_maps

__all__ = ["NotForwardedError"]

LayerSpec = nn.Module | str | list[nn.Module | str] | None


class _CAM:
    """Base extractor: hooks ``model``, explains its last input with :attr:`method`.

    Args:
        model: the model.
        target_layer: a module, its name, a list of those, or ``None`` (camlens picks the layer
            on the first input and warns :class:`camlens.AutoLayerWarning`).
        input_shape: accepted for torchcam's signature (camlens picks the layer on the real
            input instead of a dummy one).
        enable_hooks: record the model's input from the start.
        reshape_transform: maps the layer's output to ``(B, C, *spatial)``.
    """

    #: torchcam's ReLU before normalising (off for CAM).
    _relu: ClassVar[bool] = True
    #: whether ``scores`` must be passed (gradient methods).
    _score_used: ClassVar[bool] = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        input_shape: tuple[int, ...] = (3, 224, 224),
        enable_hooks: bool = True,
        reshape_transform: Callable[[Tensor], Tensor] | None = None,
        **options: Any,
    ) -> None:
        if reshape_transform is not None and not callable(reshape_transform):
            raise TypeError("`reshape_transform` must be callable")
        if target_layer is not None and not isinstance(target_layer, str | nn.Module | list):
            raise TypeError("invalid argument type for `target_layer`")
        if isinstance(target_layer, list) and not all(
            isinstance(layer, str | nn.Module) for layer in target_layer
        ):
            raise TypeError("invalid argument type for `target_layer`")
        self.model = model
        self.submodule_dict = dict(model.named_modules())
        self.method: BaseCAM = self._method(model, target_layer, reshape_transform, **options)
        self._reshape_transform = reshape_transform
        self._hooks_enabled = enable_hooks
        self._busy = False
        self._input: Tensor | None = None
        self.hook_handles = [model.register_forward_pre_hook(self._store_input)]

    def _method(
        self,
        model: nn.Module,
        target_layer: LayerSpec,
        reshape_transform: Callable[[Tensor], Tensor] | None,
        **options: Any,
    ) -> BaseCAM:
        raise NotImplementedError

    @property
    def target_names(self) -> list[str]:
        """The target layers' names (empty until ``target_layer=None`` has picked one)."""
        return list(self.method.adapter.layer_names)

    # --- hooks ---------------------------------------------------------------------------------
    def _store_input(self, _: nn.Module, input_: tuple[Any, ...]) -> None:
        if self._hooks_enabled and not self._busy:
            self._input = input_[0].detach().clone()

    def enable_hooks(self) -> None:
        """Record the model's input again."""
        self._hooks_enabled = True

    def disable_hooks(self) -> None:
        """Stop recording the model's input."""
        self._hooks_enabled = False

    def reset_hooks(self) -> None:
        """Forget the recorded input."""
        self._input = None

    def remove_hooks(self) -> None:
        """Remove the hook from the model."""
        for handle in self.hook_handles:
            handle.remove()
        self.hook_handles.clear()

    def __enter__(self) -> _CAM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.remove_hooks()
        finally:
            self.reset_hooks()

    # --- maps ----------------------------------------------------------------------------------
    def _precheck(self, class_idx: int | list[int] | None, scores: Any, targets: Any) -> Tensor:
        if targets is not None:
            raise TargetError(
                "camlens.compat.torchcam takes class_idx only; for other targets use camlens' "
                "own API (e.g. camlens.GradCAM(model, layer).explain(x, targets=[...]))."
            )
        if class_idx is None:
            raise ValueError("provide exactly one of class_idx or targets")
        if self._input is None:
            raise NotForwardedError(
                "Inputs need to be forwarded in the model for the conv features to be hooked: "
                "run scores = model(x) with the extractor's hooks on, then call the extractor."
            )
        batch = self._input.shape[0]
        if isinstance(class_idx, list) and len(class_idx) != batch:
            raise ValueError("expected batch size and length of `class_idx` to be the same.")
        if not (isinstance(class_idx, int) and class_idx >= 0) and not (
            isinstance(class_idx, list) and all(isinstance(i, int) and i >= 0 for i in class_idx)
        ):
            raise ValueError("Incorrect `class_idx` argument value")
        if self._score_used and scores is None:
            raise ValueError("model output scores is required to be passed to compute CAMs")
        if self._score_used and not isinstance(scores, Tensor):
            raise TypeError("model output scores must be a tensor when using class_idx")
        return self._input

    def __call__(
        self,
        class_idx: int | list[int] | None = None,
        scores: Any = None,
        normalized: bool = True,
        *,
        targets: Any = None,
        **kwargs: Any,
    ) -> list[Tensor]:
        """One ``(B, h, w)`` map per target layer for class ``class_idx`` (an int for the whole
        batch or one per image), of the model's last input."""
        self._precheck(class_idx, scores, targets)
        return self.compute_cams(class_idx, scores, normalized, **kwargs)

    def compute_cams(
        self,
        class_idx: int | list[int],
        scores: Any = None,
        normalized: bool = True,
        **kwargs: Any,
    ) -> list[Tensor]:
        """The maps without :meth:`__call__`'s checks (``kwargs`` such as ``retain_graph`` are
        torchcam's backprop options and have no effect here)."""
        if self._input is None:
            raise NotForwardedError("no forward pass recorded: run model(x) first.")
        batch = self._input.shape[0]
        ids = [class_idx] * batch if isinstance(class_idx, int) else list(class_idx)
        self._busy = True
        try:
            maps = layer_maps(
                self.method, self._input, [ClassTarget(i) for i in ids], relu=self._relu
            )
        finally:
            self._busy = False
        return [self._normalize(m) if normalized else m for m in maps]

    @staticmethod
    @torch.no_grad()
    def _normalize(cams: Tensor, spatial_dims: int | None = None, eps: float = 1e-8) -> Tensor:
        """torchcam's min-max: ``(L - min) / (max - min + eps)`` over the spatial axes."""
        spatial_dims = cams.ndim - 1 if spatial_dims is None else spatial_dims
        dims = tuple(range(cams.ndim - spatial_dims, cams.ndim))
        cams = cams - cams.amin(dim=dims, keepdim=True)
        return cams / (cams.amax(dim=dims, keepdim=True) + eps)

    @classmethod
    def fuse_cams(cls, cams: list[Tensor], target_shape: Sequence[int] | None = None) -> Tensor:
        """torchcam's fusion of several layers' maps: each resized (bilinear, no corner
        alignment) to ``target_shape`` (default: the largest), then the element-wise maximum."""
        if not isinstance(cams, list) or any(not isinstance(c, Tensor) for c in cams):
            raise TypeError("invalid argument type for `cams`")
        if not cams:
            raise ValueError("argument `cams` cannot be an empty list")
        if len(cams) == 1:
            return cams[0]
        shape = (
            tuple(target_shape)
            if target_shape is not None
            else tuple(max(sizes) for sizes in zip(*(c.shape[1:] for c in cams), strict=True))
        )
        mode = {3: "bilinear", 4: "trilinear"}.get(cams[0].ndim, "nearest")
        scaled = [
            F.interpolate(c.unsqueeze(1), shape, mode=mode, align_corners=False)
            if mode != "nearest"
            else F.interpolate(c.unsqueeze(1), shape, mode=mode)
            for c in cls._scale_cams(cams)
        ]
        fused = scaled[0]
        for c in scaled[1:]:
            fused = torch.maximum(fused, c)
        return fused.squeeze(1)

    @staticmethod
    def _scale_cams(cams: list[Tensor]) -> list[Tensor]:
        return cams

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target_layer={self.target_names})"
