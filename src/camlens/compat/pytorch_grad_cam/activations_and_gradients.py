"""Mirror of ``pytorch_grad_cam.activations_and_gradients``: the target layers' activations and
gradients, as lists in target-layer order.

Two uses, as in pytorch-grad-cam:

* on its own, ``ActivationsAndGradients(model, target_layers, reshape_transform)``: hooks are
  registered at construction; ``obj(x)`` runs the model and records each layer's output, and a
  later backward pass records the gradients; ``release()`` removes the hooks.
* ``cam.activations_and_grads`` of every compat CAM: after ``cam(...)`` it holds the activations
  and gradients that call used (what scripts read; camlens captured them itself, so no hooks are
  left on the model). Calling it, ``cam.activations_and_grads(x)``, runs the model with hooks for
  that forward pass only.

Activations and gradients go through ``reshape_transform`` and, with ``detach=True`` (default),
are detached copies on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

__all__ = ["ActivationsAndGradients"]


class ActivationsAndGradients:
    """Records the target layers' outputs (``activations``) and their gradients (``gradients``).

    hooks: ``True`` (pytorch-grad-cam's behaviour) registers the hooks now; ``False`` registers
        them only for the duration of each ``obj(x)`` (what the compat CAMs use).
    """

    def __init__(
        self,
        model: nn.Module,
        target_layers: Sequence[nn.Module],
        reshape_transform: Callable[[Any], Tensor] | None,
        detach: bool = True,
        *,
        hooks: bool = True,
    ) -> None:
        self.model = model
        self.target_layers = list(target_layers)
        self.reshape_transform = reshape_transform
        self.detach = detach
        self.gradients: list[Tensor] = []
        self.activations: list[Tensor] = []
        self.handles: list[RemovableHandle] = []
        if hooks:
            self._register()

    def _register(self) -> None:
        for layer in self.target_layers:
            self.handles.append(layer.register_forward_hook(self.save_activation))
            self.handles.append(layer.register_forward_hook(self.save_gradient))

    def _keep(self, value: Tensor) -> Tensor:
        if not self.detach:
            return value
        if self.reshape_transform is not None:
            value = self.reshape_transform(value)
        return value.cpu().detach()

    def save_activation(self, module: nn.Module, input: Any, output: Tensor) -> None:
        self.activations.append(self._keep(output))

    def save_gradient(self, module: nn.Module, input: Any, output: Tensor) -> None:
        if not isinstance(output, Tensor) or not output.requires_grad:
            return  # a hook can only be registered on a tensor that requires grad

        def store(grad: Tensor) -> None:  # gradients arrive in reverse layer order
            self.gradients = [self._keep(grad), *self.gradients]

        output.register_hook(store)

    def record(self, activations: Sequence[Tensor], gradients: Sequence[Tensor]) -> None:
        """Set the lists from a camlens capture (already reshaped)."""
        self.activations = [self._keep_captured(a) for a in activations]
        self.gradients = [self._keep_captured(g) for g in gradients]

    def _keep_captured(self, value: Tensor) -> Tensor:
        return value.cpu().detach() if self.detach else value

    def __call__(self, x: Tensor) -> Any:
        self.gradients = []
        self.activations = []
        if self.handles:
            return self.model(x)
        self._register()
        try:
            return self.model(x)
        finally:
            self._remove_handles()

    def _remove_handles(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def clear(self) -> None:
        """Forget the recorded tensors."""
        self.activations.clear()
        self.gradients.clear()

    def release(self) -> None:
        """Forget the recorded tensors and remove the hooks."""
        self.clear()
        self._remove_handles()
