"""The adapter contract: what a framework adapter gives the method math.

An adapter wraps one model of one framework (PyTorch, Keras, ONNX Runtime, JAX/Flax) and its
target layers. It turns the user's input into a channels-first ``torch.Tensor``, runs the model,
and returns a :class:`~camlens.core.capture.Capture` (scores, activations of the target layers
and, where the framework can, the gradients of the scores with respect to them). Methods see the
``Capture`` and nothing of the framework; perturbation methods run the model again through
:meth:`Adapter.predict` (and, where the adapter can, :meth:`Adapter.predict_with_layer_output`).

Each adapter says what it can do in ``capabilities``; each method says what it needs in
``BaseCAM.requires``. A method asked of an adapter that lacks a capability raises
:class:`~camlens.errors.UnsupportedByAdapterError` naming the methods that can run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from torch import Tensor

if TYPE_CHECKING:
    from .capture import Capture

#: The activations of named layers (every adapter).
ACTIVATIONS = "activations"
#: Gradients of the target scores with respect to the activations.
GRADIENTS = "gradients"
#: Running the network after a layer on replaced activations (Ablation-CAM's tail).
LAYER_REPLACE = "layer_replace"
#: The model is a ``torch.nn.Module`` (FullGrad's biases, input-gradient pixel methods).
TORCH_MODULES = "torch_modules"

CAPABILITIES = frozenset({ACTIVATIONS, GRADIENTS, LAYER_REPLACE, TORCH_MODULES})


@runtime_checkable
class Adapter(Protocol):
    """One model of one framework, with its target layers, as the methods see it."""

    #: What this adapter can do: a subset of :data:`CAPABILITIES`.
    capabilities: frozenset[str]

    @property
    def layer_names(self) -> list[str]:
        """The target layers' names (empty until :meth:`ensure_layers` picked one)."""
        ...

    def prepare_input(self, x: object) -> Tensor:
        """The user's input (a tensor, numpy array, framework tensor) as ``(B, C, *spatial)``."""
        ...

    def ensure_layers(self, x: Tensor) -> None:
        """With no target layer given, pick one for input ``x`` (and warn which)."""
        ...

    def capture(
        self,
        x: Tensor,
        target_sets: Sequence[object] | None,
        *,
        gradients: bool = True,
        differentiable: bool = False,
        rank_rows: Tensor | None = None,
    ) -> Capture:
        """One forward pass (and one gradient per target set when ``gradients``)."""
        ...

    def predict(self, x: Tensor) -> Tensor:
        """Logits ``(B, ...)`` of a batch, no gradients, as a torch tensor on ``x``'s device."""
        ...

    def predict_with_layer_output(
        self, x: Tensor, layer_index: int, replace: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits when target layer ``layer_index`` outputs ``replace(its output)``
        (only with :data:`LAYER_REPLACE`; may return a larger batch than ``x``)."""
        ...


def check_supported(
    method: str, requires: frozenset[str], adapter: Adapter, runnable: list[str]
) -> None:
    """Raise :class:`~camlens.errors.UnsupportedByAdapterError` when ``adapter`` lacks one of
    the capabilities the method ``requires``; ``runnable`` names the methods it can run."""
    have = getattr(adapter, "capabilities", CAPABILITIES)
    missing = sorted(requires - have)
    if missing:
        from ..errors import UnsupportedByAdapterError

        raise UnsupportedByAdapterError(
            f"{method} needs {' and '.join(missing)}, which a {type(adapter).__name__} model "
            f"cannot give; methods that run on it: {', '.join(runnable) or 'none'}."
        )
