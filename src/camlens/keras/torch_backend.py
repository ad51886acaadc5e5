"""Keras 3 on the PyTorch backend: the PyTorch path, with Keras' layer names and layout.

There every Keras layer is a ``torch.nn.Module`` and runs through ``nn.Module.__call__``, so
torch forward hooks see it; but a functional or sequential model does not register its layers
as torch submodules, and its images are channels last. :class:`KerasTorchAdapter` is the
:class:`~camlens.core.capture.TorchAdapter` with three changes: target layers are resolved the
Keras way (:mod:`camlens.keras.layers`), the model runs through :class:`KerasTorchModule` (input
``(B, C, H, W)`` -> the model's layout, ``training=False``, softmax undone), and a channels-last
layer output ``(B, H, W, C)`` is moved to ``(B, C, H, W)`` unless a ``reshape_transform`` is given.
"""

from __future__ import annotations

import keras
from torch import Tensor, nn

from ..core.capture import ReshapeTransform, TorchAdapter, check_input
from .intercept import intercept
from .layers import auto_choice, is_leaf, resolve_layers, walk
from .logits import logits_hook


def channels_last_to_first(output: Tensor) -> Tensor:
    """``(B, *spatial, C)`` -> ``(B, C, *spatial)`` for image-like outputs (rank >= 4)."""
    return output.movedim(-1, 1) if output.ndim >= 4 else output


class KerasTorchModule(nn.Module):
    """A Keras model (PyTorch backend) seen as camlens' PyTorch models are: input
    ``(B, C, *spatial)``, output logits. The Keras model is held, not registered as a submodule
    (its torch ``training`` flags mean nothing to Keras, which gets ``training=False``)."""

    def __init__(self, model: object) -> None:
        super().__init__()
        object.__setattr__(self, "keras_model", model)
        self.channels_last = keras.config.image_data_format() == "channels_last"
        self._logits = logits_hook(model)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last:
            x = x.movedim(1, -1)
        with intercept([self._logits] if self._logits else []):
            return self.keras_model(x, training=False)


class KerasTorchAdapter(TorchAdapter):
    """:class:`TorchAdapter` for a Keras 3 model on the PyTorch backend (see module docstring)."""

    def __init__(
        self,
        model: object,
        target_layers: object,
        reshape_transform: ReshapeTransform | None = None,
    ) -> None:
        module = KerasTorchModule(model)
        if reshape_transform is None and module.channels_last:
            reshape_transform = channels_last_to_first
        super().__init__(module, None, reshape_transform)  # the capture state of every adapter
        self.keras_model = model
        self.layers = None if target_layers is None else resolve_layers(model, target_layers)

    def ensure_layers(self, x: Tensor) -> None:
        """With ``target_layers=None``: the last leaf layer with a spatial output."""
        if self.layers is not None:
            return
        x = check_input(x)[:1]
        seen: list[tuple[str, nn.Module]] = []

        def hook_for(path: str, layer: nn.Module):
            def hook(module: nn.Module, inputs: object, output: object) -> None:
                if isinstance(output, Tensor) and output.ndim == x.ndim:
                    seen.append((path, layer))

            return hook

        leaves = [(p, m) for p, m in walk(self.keras_model) if is_leaf(m)]
        handles = [m.register_forward_hook(hook_for(p, m)) for p, m in leaves]
        try:
            self.predict(x)
        finally:
            for h in handles:
                h.remove()
        self.layers = [auto_choice(self.keras_model, seen)]

    def forward_cost(self, x1: Tensor, start: nn.Module | None = None) -> int:
        """The TensorFlow path's estimate: the largest ``inputs + 2 × output`` bytes of any leaf
        layer call for one image (from ``start``'s output on if given); torch's live-tensor probe
        cannot see Keras layers, which are not registered as submodules."""
        sizes: list[int] = []
        started = [start is None]

        def nbytes(value: object) -> int:
            flat = value if isinstance(value, tuple | list) else [value]
            return sum(t.numel() * t.element_size() for t in flat if isinstance(t, Tensor))

        def hook(module: nn.Module, inputs: object, output: object) -> None:
            if started[0]:
                sizes.append(nbytes(inputs) + 2 * nbytes(output))
            if module is start:
                started[0] = True

        modules = [m for _, m in walk(self.keras_model) if is_leaf(m)]
        if start is not None and start not in modules:
            modules.append(start)
        handles = [m.register_forward_hook(hook) for m in modules]
        try:
            self.predict(x1[:1])
        finally:
            for h in handles:
                h.remove()
        return max(sizes, default=0)
