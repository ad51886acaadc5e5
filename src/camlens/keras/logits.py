"""Score in logits: a Keras classifier that ends in softmax is explained before the softmax.

Grad-CAM's ``y^c`` is the score before the softmax (Selvaraju et al., sec. 3); Keras
classifiers often end in ``Dense(n, activation="softmax")``. The Keras Grad-CAM tutorial sets
``model.layers[-1].activation = None`` for this, which changes the user's model. camlens leaves
the model alone and, while it runs the model, computes the output layer's pre-softmax value
instead of its output:

- ``Dense(..., activation="softmax")``: ``inputs @ kernel + bias`` (the Dense layer's own
  weights, read at call time);
- a final ``Softmax`` layer or ``Activation("softmax")``: its input.

Any other model output is scored as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .layers import output_layer


def _is_softmax(function: Any) -> bool:
    return getattr(function, "__name__", None) == "softmax"


def logits_hook(model: Any) -> tuple[Any, Callable] | None:
    """``(layer, hook)`` for :func:`~camlens.keras.intercept.intercept` that makes the model
    return logits, or ``None`` when its output is not a softmax that camlens can undo."""
    from keras import layers, ops

    layer = output_layer(model)
    if layer is None:
        return None
    if isinstance(layer, layers.Softmax) or (
        isinstance(layer, layers.Activation) and _is_softmax(layer.activation)
    ):
        return layer, lambda _layer, args, kwargs, call: args[0]
    if (
        isinstance(layer, layers.Dense)
        and type(layer).call is layers.Dense.call  # a subclass may compute something else
        and _is_softmax(layer.activation)
        and getattr(layer, "quantization_mode", None) is None
    ):

        def dense_logits(dense: Any, args: tuple, kwargs: dict, call: Callable) -> Any:
            x = ops.matmul(args[0], dense.kernel)
            return x if dense.bias is None else ops.add(x, dense.bias)

        return layer, dense_logits
    return None
