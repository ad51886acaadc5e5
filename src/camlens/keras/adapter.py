"""The Keras 3 (TensorFlow backend) adapter: a :class:`~camlens.core.contract.Capture` from
``tf.GradientTape``, handed to the same method code as the PyTorch path.

Boundary conversions (see :mod:`camlens.keras.convert`): the input is a Keras batch
``(B, H, W, C)`` (numpy or ``tf.Tensor``) or a torch ``(B, C, H, W)``; ``Capture.inputs`` is torch
``(B, C, H, W)``; activations and gradients are torch ``(B, C, h, w)`` (channel-last layer
outputs are moved, token outputs ``(B, N, D)`` laid on their grid as on the PyTorch path).
Gradients are taken with respect to the target layers' outputs only (``tape.watch`` on them; no
variable is watched). The model runs with ``training=False``; a softmax output is undone
(:mod:`camlens.keras.logits`), so targets score logits.

Targets stay torch callables: their gradient with respect to the logits is taken in torch and
handed to ``tape.gradient(..., output_gradients=...)`` (the chain rule across the boundary).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
import torch
from torch import Tensor

from ..core.capture import Capture, ReshapeTransform
from ..core.contract import ACTIVATIONS, GRADIENTS, LAYER_REPLACE
from ..core.errors import (
    LayerNotReachedError,
    LayerOutputError,
    TargetError,
)
from ..core.reshape import auto_reshape
from ..targets import resolve_targets, score_targets
from .convert import channels_first, channels_last, input_batch, to_tf, to_torch
from .errors import KerasSupportError
from .intercept import intercept
from .layers import auto_choice, is_leaf, resolve_layers, walk
from .logits import logits_hook


def _first_output(output: object) -> object:
    """What targets score: a tensor, a dict's ``"logits"`` / ``"out"``, a list's first item."""
    if isinstance(output, dict):
        for key in ("logits", "out"):
            if key in output:
                return output[key]
    if isinstance(output, list | tuple) and output:
        return output[0]
    return output


def _model_rank(model: object) -> int | None:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return len(inputs[0].shape) if inputs and len(inputs) == 1 else None


class KerasAdapter:
    """Produce a :class:`Capture` from a Keras 3 model on the TensorFlow backend.

    target_layers: a layer, a name (``"block5_conv3"``), a path through nested models
    (``"vgg16/block5_conv3"``), or a list of these; ``None`` picks the last non-pooling layer
    with a spatial output. reshape_transform: gets a layer's output as a torch tensor *in Keras'
    layout* (e.g. ``(B, N, D)`` tokens) and returns ``(B, C, *grid)``.

    Shapes: torch images ``(B, C, H, W)`` (fed channels last); a layer's ``(B, h, w, C)`` output
    is captured as ``(B, C, h, w)``; maps ``(B, H, W)``.

    Example:
        >>> import keras, torch
        >>> inputs = keras.Input((8, 8, 3))
        >>> x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
        >>> outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
        >>> from camlens import GradCAM
        >>> cam = GradCAM(keras.Model(inputs, outputs), target_layers="conv")
        >>> maps = cam(torch.rand(2, 3, 8, 8))
        >>> type(cam.adapter).__name__, maps.shape
        ('KerasAdapter', torch.Size([2, 8, 8]))
    """

    capabilities = frozenset({ACTIVATIONS, GRADIENTS, LAYER_REPLACE})

    def __init__(
        self,
        model: object,
        target_layers: object,
        reshape_transform: ReshapeTransform | None = None,
    ) -> None:
        if keras.backend.backend() != "tensorflow":
            raise KerasSupportError(
                f"the Keras adapter runs on the TensorFlow backend, but Keras uses "
                f"{keras.backend.backend()!r}. On the PyTorch backend Keras models are "
                "torch.nn.Modules and take camlens' PyTorch path (see docs/keras.md)."
            )
        self.model = model
        self.layers = None if target_layers is None else resolve_layers(model, target_layers)
        self.reshape_transform = reshape_transform
        self._logits = logits_hook(model)
        self._rank = _model_rank(model)

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers or []]

    # --- running the model ------------------------------------------------------------------
    def _hooks(self, extra: Sequence[tuple[object, Callable]] = ()) -> list:
        return ([self._logits] if self._logits else []) + list(extra)

    def _run(self, x_tf: tf.Tensor, extra: Sequence[tuple[object, Callable]] = ()) -> tf.Tensor:
        with intercept(self._hooks(extra)):
            output = _first_output(self.model(x_tf, training=False))
        if not isinstance(output, tf.Tensor | tf.Variable):
            raise TargetError(
                f"the model returned {type(output).__name__}; camlens needs a tensor of scores."
            )
        return output

    def prepare_input(self, x: object) -> Tensor:
        """The input as torch ``(B, C, *spatial)`` (validated): what ``Capture.inputs`` holds and
        what the PyTorch-side code (``aug_smooth``, Sobel-CAM, SESS) works on."""
        return input_batch(x, self._rank)

    def _keras_input(self, x: Tensor) -> tf.Tensor:
        return to_tf(channels_last(x))

    def ensure_layers(self, x: object) -> None:
        """With ``target_layers=None``: the last leaf layer, pooling layers aside, whose output
        has the input's rank and more than one spatial position (one probe forward of one image)."""
        if self.layers is not None:
            return
        batch = self.prepare_input(x)[:1]
        seen: list[tuple[str, object]] = []

        def record(path: str) -> Callable:
            def hook(layer: object, args: tuple, kwargs: dict, call: Callable) -> object:
                out = call(*args, **kwargs)
                shape = getattr(out, "shape", ())
                if len(shape) == batch.ndim and int(np.prod(shape[1:-1])) > 1:
                    seen.append((path, layer))
                return out

            return hook

        leaves = [(layer, record(path)) for path, layer in walk(self.model) if is_leaf(layer)]
        self._run(self._keras_input(batch), leaves)
        self.layers = [auto_choice(self.model, seen)]

    def _channels_last(self, index: int) -> bool:
        """Whether target layer ``index`` lays its image-like output out channels last (its
        own ``data_format``, else Keras' ``image_data_format()``)."""
        _, layer = self.layers[index]
        fmt = getattr(layer, "data_format", None) or keras.config.image_data_format()
        return fmt != "channels_first"

    def reshape(self, output: Tensor, input_shape: Sequence[int], index: int) -> Tensor:
        """A layer's output (torch, Keras layout) as ``(B, C, *grid)``."""
        if self.reshape_transform is not None:
            return self.reshape_transform(output)
        if output.ndim == len(input_shape):
            return channels_first(output) if self._channels_last(index) else output
        return auto_reshape(output, input_shape, self.layers[index][0])

    def _unreshape(self, value: Tensor, raw: Tensor, index: int) -> Tensor:
        """Inverse of :meth:`reshape` for the moved-channel case (identity otherwise)."""
        if self.reshape_transform is None and raw.ndim == value.ndim:
            return channels_last(value) if self._channels_last(index) else value
        return value

    # --- capture ----------------------------------------------------------------------------
    def capture(
        self,
        x: object,
        target_sets: Sequence[object] | None,
        *,
        gradients: bool = True,
        differentiable: bool = False,
        rank_rows: Tensor | None = None,
    ) -> Capture:
        """One forward pass under a ``tf.GradientTape`` that watches the target layers'
        outputs, then per target set one ``tape.gradient`` to them."""
        if differentiable:
            raise KerasSupportError(
                "differentiable=True keeps a torch autograd graph, which a TensorFlow model "
                "cannot join; use it with PyTorch models."
            )
        batch = self.prepare_input(x)
        self.ensure_layers(batch)
        records: list[list[tf.Tensor]] = [[] for _ in self.layers]
        sets = [None] if target_sets is None else list(target_sets)
        if not sets:
            raise TargetError("target_sets is empty: give at least one set of targets.")
        tape = (
            tf.GradientTape(persistent=len(sets) > 1, watch_accessed_variables=False)
            if gradients
            else contextlib.nullcontext()
        )

        def record(index: int) -> Callable:
            def hook(layer: object, args: tuple, kwargs: dict, call: Callable) -> object:
                out = call(*args, **kwargs)
                if not isinstance(out, tf.Tensor):
                    raise LayerOutputError(
                        f"layer {self.layers[index][0]!r} returned {type(out).__name__}; "
                        "choose a layer whose output is one tensor."
                    )
                if gradients:
                    tape.watch(out)
                records[index].append(out)
                return out

            return hook

        hooks = [(layer, record(i)) for i, (_, layer) in enumerate(self.layers)]
        with tape:
            output = self._run(self._keras_input(batch), hooks)
        for (name, _), calls in zip(self.layers, records, strict=True):
            if not calls:
                raise LayerNotReachedError(
                    f"the forward pass never ran layer {name!r}; pick a layer the model uses."
                )
            if len(calls) > 1:
                raise LayerOutputError(
                    f"layer {name!r} ran {len(calls)} times in one forward pass (a shared "
                    "layer), so its map is ambiguous; choose a layer that runs once."
                )
        logits = to_torch(output)
        n = batch.shape[0]
        ranking = None if rank_rows is None else logits[rank_rows]
        targets = [resolve_targets(t, logits, n, ranking) for t in sets]
        scores, grads = [], []
        layer_outputs = [calls[0] for calls in records]
        for target in targets:
            leaf = logits.clone().requires_grad_(True)
            with torch.enable_grad():
                score = score_targets(target, leaf)
                (d_logits,) = torch.autograd.grad(score.sum(), leaf, allow_unused=True)
            scores.append(score.detach())
            if not gradients:
                continue
            d_logits = torch.zeros_like(logits) if d_logits is None else d_logits
            found = tape.gradient(
                output, layer_outputs, output_gradients=tf.cast(to_tf(d_logits), output.dtype)
            )
            for (name, _), g in zip(self.layers, found, strict=True):
                if g is None:
                    raise LayerNotReachedError(
                        f"the target score does not depend on layer {name!r}; pick a layer on "
                        "the path from the input to the scored output."
                    )
            grads.append([self.reshape(to_torch(g), batch.shape, i) for i, g in enumerate(found)])
        activations = [
            self.reshape(to_torch(a), batch.shape, i) for i, a in enumerate(layer_outputs)
        ]
        return Capture(batch, logits, activations, grads, targets, scores, self.layer_names, self)

    # --- running the model again (perturbation methods) -------------------------------------
    def predict(self, x: Tensor) -> Tensor:
        """Logits (torch) for a torch ``(B, C, *spatial)`` batch."""
        return to_torch(self._run(self._keras_input(x)))

    def predict_with_layer_output(
        self, x: Tensor, layer_index: int, replace: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits when target layer ``layer_index`` outputs ``replace(its output)`` instead.

        ``replace`` gets and returns the output as :attr:`Capture.activations` hold it
        (``(B, C, h, w)``, channels first) unless a ``reshape_transform`` is set (then in Keras'
        layout); it may return a larger batch. :class:`LayerOutputError` when the network after
        the layer cannot run on it.
        """
        name, layer = self.layers[layer_index]
        expected: list[int] = []

        def hook(_layer: object, args: tuple, kwargs: dict, call: Callable) -> object:
            raw = to_torch(call(*args, **kwargs))
            if self.reshape_transform is None and raw.ndim == x.ndim:
                new = replace(self.reshape(raw, x.shape, layer_index))
                back = self._unreshape(new, raw, layer_index)
            else:  # tokens or a user's reshape_transform: replace in Keras' layout
                new = back = replace(raw)
            expected.append(new.shape[0])
            return to_tf(back)

        try:
            logits = to_torch(self._run(self._keras_input(x), [(layer, hook)]))
        except (ValueError, tf.errors.OpError) as error:
            raise LayerOutputError(
                f"cannot run the network from layer {name!r} on a new batch: {error}"
            ) from error
        if len(expected) != 1 or len(logits) != expected[0]:
            raise LayerOutputError(
                f"the network after layer {name!r} did not keep the replaced batch "
                f"({expected} -> {logits.shape[0]} outputs)."
            )
        return logits

    def forward_cost(self, x1: Tensor, start: object | None = None) -> int:
        """A simple estimate of the activation bytes one image costs in a forward pass: the
        largest ``inputs + 2 × output`` of any leaf layer call (the output once more for a
        fused activation's temporary), counting from ``start``'s output on if given.
        """
        sizes: list[int] = []
        started = [start is None]

        def nbytes(value: object) -> int:
            flat = tf.nest.flatten(value)
            return sum(int(np.prod(t.shape)) * t.dtype.size for t in flat if hasattr(t, "dtype"))

        def hook(layer: object, args: tuple, kwargs: dict, call: Callable) -> object:
            out = call(*args, **kwargs)
            if started[0]:
                sizes.append(nbytes(args) + 2 * nbytes(out))
            if layer is start:
                started[0] = True
            return out

        hooks = [(layer, hook) for _, layer in walk(self.model) if is_leaf(layer)]
        if start is not None and not is_leaf(start):
            hooks.append((start, hook))
        self._run(self._keras_input(x1[:1]), hooks)
        return max(sizes, default=0)
