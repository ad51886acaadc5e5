"""The small base of the pixel-space methods: ``method(x, targets=None) -> (B, C, H, W)``.

A pixel-space method attributes the target score to each input value, so its result has the
input's shape (channels included) and lives on the input's device. Targets work as in the CAM
classes: ``None`` (each image's top-1 class), an int or ``ClassTarget`` for every image, one per
image, or any callable ``output of one image -> scalar``.

Every method leaves the model as it found it: no ``.eval()``, no module swapped, hooks and
overrides removed even on error, parameters' ``requires_grad`` restored and their ``.grad`` never
touched (gradients are taken with ``torch.autograd.grad`` with respect to the input only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..core.adapters import require_torch_model
from ..core.contract import Adapter, check_input, model_logits, score_sets
from ..core.errors import CamlensError, InvalidInputError
from ..core.torch_adapter import graph_mode, input_leaf, warn_if_training
from ..targets import Target, resolve_targets, score_targets
from ._relu_override import ReLURule, relu_rule


@dataclass
class PixelExplanation:
    """The result of a pixel-space method on a batch.

    attributions: ``(B, C, *spatial)``, the input's shape, dtype and device.
    outputs:      ``(B, ...)`` the model's output (logits) on the un-perturbed input.
    scores:       ``(B,)`` the explained target scores.
    targets:      the target of each image.
    extras:       method-specific intermediate results (e.g. Guided Grad-CAM's Grad-CAM map).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import ClassTarget
        >>> from camlens.pixel import Saliency
        >>> result = Saliency(model).explain(x, targets=[ClassTarget(0), ClassTarget(2)])
        >>> result.attributions.shape, result.scores.shape
        (torch.Size([2, 3, 8, 8]), torch.Size([2]))
    """

    attributions: Tensor
    outputs: Tensor
    scores: Tensor
    targets: list[Target]
    extras: dict[str, Tensor] = field(default_factory=dict)


def image_input(x: object, *, images_only: bool = False) -> Tensor:
    """A checked ``(B, C, *spatial)`` batch (``(B, C, H, W)`` if ``images_only``)."""
    x = check_input(x)
    if images_only and x.ndim != 4:
        raise InvalidInputError(
            f"this method takes images (B, C, H, W); got shape {tuple(x.shape)}."
        )
    return x


def predict(model: nn.Module | Adapter, x: Tensor) -> Tensor:
    """Logits for a batch under ``torch.inference_mode`` (no graph); a framework adapter's
    ``predict`` for a model that is no torch module (ONNX, Keras: black-box methods only)."""
    if not isinstance(model, nn.Module):
        return model.predict(x)
    with torch.inference_mode():
        return model_logits(model(x))


def clean_forward(
    model: nn.Module | Adapter, x: Tensor, targets: object
) -> tuple[Tensor, list[Target], Tensor]:
    """One forward of the un-perturbed batch: ``(logits, one target per image, scores (B,))``."""
    logits = predict(model, x).clone()  # a normal tensor, not an inference tensor
    resolved = resolve_targets(targets, logits, x.shape[0])
    return logits, resolved, score_targets(resolved, logits)


def score_batch(model: nn.Module | Adapter, x: Tensor, targets: Sequence[Target]) -> Tensor:
    """``(N,)`` scores of ``targets[i]`` on the model's output for ``x[i]`` (inference mode)."""
    logits = predict(model, x)
    with torch.inference_mode():
        return score_targets(targets, logits)


def input_gradient(
    model: nn.Module, x: Tensor, targets: object, rule: ReLURule | None = None
) -> PixelExplanation:
    """∂(target score)/∂x for each image, with the ReLU backward rule ``rule`` (None: ordinary).

    One forward and one ``torch.autograd.grad`` to the input; parameters are frozen for the call.
    The model gets a copy of the input, so an in-place op on its input cannot touch ``x``.
    """
    with graph_mode(model):
        leaf = input_leaf(x)
        with relu_rule(rule):
            output = model(leaf.clone())
        logits = model_logits(output)
        (resolved,), (scores,) = score_sets([targets], logits, x.shape[0])
        if not scores.requires_grad:
            raise CamlensError(
                "the target scores do not depend on the input through autograd (does the model "
                "detach, run under no_grad, or leave torch?); gradient methods cannot explain it."
            )
        (grad,) = torch.autograd.grad(scores.sum(), leaf, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(x)
    return PixelExplanation(grad, logits.detach(), scores.detach(), resolved)


class PixelAttribution:
    """Base of the pixel-space methods: ``method(x, targets=None) -> (B, C, H, W)`` tensor.

    Subclasses implement :meth:`explain`. Usable as a context manager, like the CAM classes
    (there is nothing to release: hooks and overrides live only during a call).

    ``black_box`` methods (occlusion, RISE) need the model's scores only: a model that is not a
    ``torch.nn.Module`` (an ONNX file or session, a Keras model) runs through its framework
    adapter's ``predict`` (:mod:`camlens.core.adapters`); ``self.runner`` is what they run.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens.pixel import Occlusion
        >>> with Occlusion(model, patch_size=4, stride=4) as method:
        ...     attributions = method(x)  # the top-1 class of each image
        >>> attributions.shape
        torch.Size([2, 3, 8, 8])
    """

    black_box: ClassVar[bool] = False

    model: Any  # a torch module (an ONNX/Keras model for the black-box methods)

    def __init__(self, model: nn.Module) -> None:
        self.runner: nn.Module | Adapter = model
        if self.black_box and not isinstance(model, nn.Module):
            from ..core.adapters import make_adapter

            self.model = model
            self.runner = model if isinstance(model, Adapter) else make_adapter(model, None)
            return
        require_torch_model(model, type(self).__name__)
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
        self.model = model

    def warn_if_training(self) -> None:
        """:class:`TrainingModeWarning` for a torch model in training mode."""
        if isinstance(self.model, nn.Module):
            warn_if_training(self.model, stacklevel=5)

    def __call__(self, input_tensor: Tensor, targets: object = None) -> Tensor:
        """``(B, C, H, W)`` attributions on the input's device."""
        return self.explain(input_tensor, targets).attributions

    def explain(self, input_tensor: Tensor, targets: object = None) -> PixelExplanation:
        """Like ``__call__`` but returns the :class:`PixelExplanation` (outputs, scores, ...)."""
        raise NotImplementedError

    def __enter__(self) -> PixelAttribution:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class GradientAttribution(PixelAttribution):
    """The input gradient with the ReLU backward rule :attr:`relu_rule` (``None``: ordinary).

    ``A = ∂y^c/∂x`` with the ReLUs' backward replaced by the rule (``"guided"``: guided
    backpropagation, ``"deconvnet"``: deconvolution). Shapes: ``(B, C, H, W)`` -> ``(B, C, H, W)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> class InputGradient(GradientAttribution):
        ...     relu_rule = None
        >>> InputGradient(model)(x).shape
        torch.Size([2, 3, 8, 8])
    """

    relu_rule: ReLURule | None = None

    def explain(self, input_tensor: Tensor, targets: object = None) -> PixelExplanation:
        x = image_input(input_tensor)
        warn_if_training(self.model, "attributions", stacklevel=5)
        return input_gradient(self.model, x, targets, self.relu_rule)
