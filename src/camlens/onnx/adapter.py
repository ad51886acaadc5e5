"""The ONNX Runtime adapter: a :class:`~camlens.core.capture.Capture` from an ``onnxruntime``
session whose graph also outputs the target tensors, handed to the same method code as the
PyTorch path.

The user's model (a ``.onnx`` path, bytes, an ``onnx.ModelProto`` or an
``onnxruntime.InferenceSession``) is read into a private copy; the copy is edited with the
``onnx`` package (:mod:`camlens.onnx.graph`) and new sessions are made from it with the
session's own execution providers (CPU when given a file), so nothing of the user's changes.

- target layers are tensor names of the graph (``camlens.layers(model)`` lists them with the
  shapes from ONNX shape inference); ``None`` picks the last spatial tensor before the pooling
  (with an :class:`~camlens.errors.AutoLayerWarning`);
- the capture session outputs the logits (the graph's first output) and the target tensors;
- :meth:`predict` runs the graph as given; :meth:`predict_with_layer_output` runs the part up to
  the layer, then only the tail cut out at it (:func:`camlens.onnx.graph.split_at`) on the
  replaced tensor — Ablation-CAM's path;
- no gradients: the capabilities are activations and layer replacement (gradient methods raise
  :class:`~camlens.errors.UnsupportedByAdapterError` naming the methods that run).

Boundary: torch inputs are camlens' channels-first ``(B, C, *spatial)``; numpy inputs are in
the graph's own layout. A graph that takes its images channels last (``(B, H, W, C)``, as
tf2onnx converts TensorFlow and Keras models; :func:`camlens.onnx.graph.channels_last`) gets
them moved there and back at this boundary, so maps, masks and metrics stay channels first.
Tensors of the input's rank are laid out as the PyTorch path lays them
(:func:`camlens.core.reshape.auto_reshape`: channels-last ones are moved). Numpy arrays cross to
the session and the results come back as torch tensors on the input's device. A graph with a
dynamic batch axis runs whole chunks; a fixed batch size runs in pieces of that size (a
:class:`~camlens.errors.FixedBatchWarning` says so once).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Sequence

import numpy as np
import onnxruntime as ort
import torch
from torch import Tensor, nn

from ..core.capture import Capture, ReshapeTransform, check_input
from ..core.contract import ACTIVATIONS, LAYER_REPLACE
from ..core.errors import warn_at_caller
from ..core.reshape import auto_reshape
from ..errors import (
    AutoLayerWarning,
    AutoOutputWarning,
    FixedBatchWarning,
    InvalidInputError,
    LayerNotFoundError,
    LayerOutputError,
    OnnxModelError,
    OnnxRunError,
    TargetError,
    UnsupportedByAdapterError,
)
from ..targets import resolve_targets, score_targets
from . import graph

#: How far from an integer a pixel of an integer-input graph's image may be (float rounding of a
#: 0..255 image through a preprocessing); the methods' perturbed images are rounded
INTEGRAL_TOL = 1e-3


def _ort_line(error: BaseException) -> str:
    """onnxruntime's message in one line, without its ``[ONNXRuntimeError] : 1 : FAIL :``."""
    return re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", graph.first_line(error))


def _as_names(target_layers: object) -> list[str] | None:
    if target_layers is None:
        return None
    names = [target_layers] if isinstance(target_layers, str) else list(target_layers)
    if not names:
        raise LayerNotFoundError("target_layers is empty: give at least one tensor name.")
    return names


class OnnxAdapter:
    """Produce a :class:`Capture` from an ONNX model run by ONNX Runtime.

    model: a ``.onnx`` path, bytes, an ``onnx.ModelProto`` or an ``onnxruntime.InferenceSession``
    (its providers are used). target_layers: a tensor name or a list of them; ``None`` picks one.
    reshape_transform: gets a tensor as the graph makes it (torch) and returns
    ``(B, C, *grid)``. providers: for a path or proto (default: CPU). channels_last: whether
    the graph takes its images ``(B, *spatial, C)``, for a graph whose ops and input shape do not
    tell (``None``: as :func:`camlens.onnx.graph.channels_last` reads it). output: the graph
    output that holds the scores, for a graph of several (``None``: the first, with an
    :class:`~camlens.errors.AutoOutputWarning`).

    Shapes: input ``(B, C, H, W)``; captured tensors ``(B, C, *grid)``. Methods that need
    gradients do not run on it (ONNX Runtime gives none).

    Example:
        >>> import io, warnings
        >>> import onnx, torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> buffer = io.BytesIO()
        >>> with warnings.catch_warnings():  # the exporter's deprecation notes
        ...     warnings.simplefilter("ignore")
        ...     torch.onnx.export(model, torch.rand(1, 3, 8, 8), buffer, dynamo=False,
        ...                       input_names=["x"], dynamic_axes={"x": {0: "batch"}})
        >>> proto = onnx.load_from_string(buffer.getvalue())
        >>> OnnxAdapter(proto, target_layers="/1/Relu_output_0").layer_names
        ['/1/Relu_output_0']
        >>> from camlens import EigenCAM  # picks OnnxAdapter for an ONNX model
        >>> EigenCAM(proto, target_layers="/1/Relu_output_0")(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 8, 8])
    """

    capabilities = frozenset({ACTIVATIONS, LAYER_REPLACE})

    def __init__(
        self,
        model: object,
        target_layers: object = None,
        reshape_transform: ReshapeTransform | None = None,
        *,
        providers: list[str] | None = None,
        channels_last: bool | None = None,
        output: str | None = None,
    ) -> None:
        self.model = model
        self.source = graph.read_model(model, providers)
        if channels_last is not None and bool(channels_last) != self.source.channels_last:
            # the user's word for the layout; the sessions made are shared all the same
            self.source = dataclasses.replace(self.source, channels_last=bool(channels_last))
        if output is not None and output != self.source.output:
            self.source = dataclasses.replace(  # other sessions: a tail ends at the output
                self.source,
                proto=graph.with_first_output(self.source.proto, output),
                output=output,
                sessions={},
                lock=threading.Lock(),
            )
        self.proto = self.source.proto
        self.providers = self.source.providers
        self.reshape_transform = reshape_transform
        image = graph.image_input(self.proto)
        self.input_name = image.name
        self.input_dtype = graph.value_dtype(image) or np.dtype(np.float32)
        shape = graph.value_shape(image)
        self.input_shape = shape
        self.input_rank = None if shape is None else len(shape)
        #: the graph takes images channels last (B, *spatial, C)
        self.channels_last = self.source.channels_last
        first = shape[0] if shape else None
        #: the batch size the graph takes (``None``: any)
        self.fixed_batch: int | None = first if isinstance(first, int) else None
        self.output_name = self.proto.graph.output[0].name
        if self.source.output is None and len(self.proto.graph.output) > 1:
            names = ", ".join(o.name for o in self.proto.graph.output)
            warn_at_caller(
                f"the ONNX graph has outputs {names}: camlens scores the first, "
                f"{self.output_name!r}; choose another with "
                "camlens.onnx.OnnxModel(model, output=NAME).",
                AutoOutputWarning,
            )
        names = _as_names(target_layers)
        if names is not None:
            graph.check_names(self.proto, names)
        self.layers: list[tuple[str, str]] | None = (
            None if names is None else [(n, n) for n in names]
        )
        self._warned = False

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers or []]

    # --- sessions ----------------------------------------------------------------------------
    def _make_session(self, proto: object) -> ort.InferenceSession:
        options = ort.SessionOptions()
        given = self.source.options  # the user's session's threads and optimisation level
        if given is not None:
            options.intra_op_num_threads = given.intra_op_num_threads
            options.inter_op_num_threads = given.inter_op_num_threads
            options.execution_mode = given.execution_mode
            options.graph_optimization_level = given.graph_optimization_level
        options.log_severity_level = 4  # no warnings for the outputs we add; errors: ours
        try:
            return ort.InferenceSession(
                proto.SerializeToString(), sess_options=options, providers=self.providers
            )
        except Exception as error:  # e.g. NOT_IMPLEMENTED: no float64 Conv kernel on CPU
            said = _ort_line(error)
            raise OnnxModelError(
                f"onnxruntime cannot run {self.source.name} on {', '.join(self.providers)}: "
                f"{said.rstrip('.')}. Export the model with the types and ops that provider "
                "runs (float32 on CPU, say), or give providers=[...] that run it."
            ) from None

    def session(self, extra: Sequence[str] = ()) -> ort.InferenceSession:
        """A session of the private copy whose graph also outputs ``extra`` (made once)."""
        key = ("outputs", tuple(extra))
        cache, lock = self.source.sessions, self.source.lock
        with lock:
            found = cache.get(key)
        if found is None:
            proto = graph.with_outputs(self.proto, list(extra)) if extra else self.proto
            found = self._make_session(proto)
            with lock:
                found = cache.setdefault(key, found)
        return found

    def _tail(self, layer: str) -> tuple[ort.InferenceSession, list[str], int | None, set[str]]:
        """The session of the graph after ``layer``, the earlier tensors it reads, the batch
        size its layer input takes (``None``: any), and which of those tensors are the same for
        any batch (:func:`graph.input_independent`: weights and constants)."""
        key = ("tail", layer)
        cache, lock = self.source.sessions, self.source.lock
        with lock:
            found = cache.get(key)
        if found is None:
            tail, extras = graph.split_at(self.proto, layer)
            shape = next(graph.value_shape(i) for i in tail.graph.input if i.name == layer)
            first = shape[0] if shape else None
            found = (
                self._make_session(tail),
                extras,
                first if isinstance(first, int) else None,
                graph.input_independent(self.proto, extras),
            )
            with lock:
                found = cache.setdefault(key, found)
        return found

    def _warn_fixed(self) -> None:
        if self.fixed_batch is not None and not self._warned:
            self._warned = True
            warn_at_caller(
                f"the ONNX model takes batches of {self.fixed_batch} only (its input has a fixed "
                "batch axis): camlens runs the images in pieces of that size, which is slower. "
                "Export with a dynamic batch axis (torch.onnx.export(..., dynamic_axes="
                "{'input': {0: 'batch'}})) to batch them.",
                FixedBatchWarning,
            )

    def _run(
        self,
        session: ort.InferenceSession,
        feeds: dict[str, np.ndarray],
        outputs: list[str],
        fixed: int | None,
    ) -> list[np.ndarray]:
        """``session.run`` on a batch, in pieces of ``fixed`` (padded) when the graph wants it."""
        n = next(iter(feeds.values())).shape[0]
        if fixed is None or n == fixed:
            return self._session_run(session, outputs, feeds)
        self._warn_fixed()
        pieces: list[list[np.ndarray]] = []
        for start in range(0, n, fixed):
            part = {}
            for name, value in feeds.items():
                chunk = value[start : start + fixed]
                if chunk.shape[0] < fixed:  # pad the last piece, cut its outputs
                    pad = np.zeros((fixed - chunk.shape[0], *chunk.shape[1:]), chunk.dtype)
                    chunk = np.concatenate([chunk, pad])
                part[name] = chunk
            got = self._session_run(session, outputs, part)
            pieces.append([g[: min(fixed, n - start)] for g in got])
        return [np.concatenate([p[i] for p in pieces]) for i in range(len(outputs))]

    def _session_run(
        self, session: ort.InferenceSession, outputs: list[str], feeds: dict[str, np.ndarray]
    ) -> list[np.ndarray]:
        """``session.run``; its failure as one :class:`OnnxRunError` line."""
        try:
            return session.run(outputs, feeds)
        except Exception as error:  # onnxruntime's Fail, InvalidArgument, RuntimeException...
            said = _ort_line(error)
            fed = ", ".join(f"{name} {tuple(value.shape)}" for name, value in feeds.items())
            message = f"onnxruntime could not run {self.source.name} on {fed}: {said.rstrip('.')}."
            if self.input_name in feeds:  # the image as camlens laid it out
                last = self.channels_last
                message += (
                    f" camlens fed the images channels {'last' if last else 'first'}; if the "
                    f"graph takes them channels {'first' if last else 'last'}, say so: "
                    f"camlens.onnx.OnnxModel(model, channels_last={not last})."
                )
            raise OnnxRunError(message) from None

    def _numpy(self, x: Tensor) -> np.ndarray:
        """A camlens ``(B, C, *spatial)`` batch as the graph takes it (channels moved last for a
        channels-last graph)."""
        if self.channels_last:
            x = x.movedim(1, -1)
        array = x.detach().cpu().contiguous().numpy()
        if array.dtype == self.input_dtype:
            return array
        if np.issubdtype(self.input_dtype, np.integer):  # pixel values: rounded, never wrapped
            array = np.rint(array)
            info = np.iinfo(self.input_dtype)
            low, high = (float(array.min()), float(array.max())) if array.size else (0, 0)
            if low < info.min or high > info.max:
                raise InvalidInputError(
                    f"the ONNX model takes {self.input_dtype} images ({info.min}..{info.max}); "
                    f"camlens would feed values from {low:g} to {high:g}: give the image's own "
                    "pixel values (as floats), not normalised ones."
                )
        return array.astype(self.input_dtype)

    def _graph_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """A camlens ``(B, C, *spatial)`` shape in the graph's layout."""
        return graph.to_graph_layout(tuple(int(d) for d in shape), self.channels_last)

    @staticmethod
    def _torch(array: np.ndarray, like: Tensor) -> Tensor:
        out = torch.from_numpy(np.require(array, requirements="C"))  # a 0-d array stays 0-d
        return out if like.device.type == "cpu" else out.to(like.device)

    # --- the contract ------------------------------------------------------------------------
    def prepare_input(self, x: object) -> Tensor:
        """A torch tensor ``(B, C, *spatial)``, or a numpy array in the graph's layout, as a
        checked torch tensor ``(B, C, *spatial)``; :class:`InvalidInputError` when it does not
        fit the graph's declared input shape."""
        given = "a numpy array, taken in the graph's layout"
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
            if self.channels_last and x.ndim >= 3:
                x = x.movedim(-1, 1)
        elif isinstance(x, Tensor):
            given = "a torch tensor, taken as (B, C, *spatial)"
        x = check_input(x)
        shape = self._graph_shape(x.shape)
        declared = self.input_shape
        fits = (
            declared is None
            or (
                len(shape) == len(declared)  # the batch axis aside (a fixed one runs in pieces)
                and all(
                    n == d
                    for d, n in zip(declared[1:], shape[1:], strict=True)
                    if isinstance(d, int)
                )
            )
        )
        if not fits:
            layout = "channels last" if self.channels_last else "channels first"
            wanted = ", ".join(str(d) if isinstance(d, int) else "any" for d in declared)
            raise InvalidInputError(
                f"the ONNX model takes inputs of shape ({wanted}) ({layout}); got {given}, "
                f"which is {shape} in the graph's layout."
            )
        if np.issubdtype(self.input_dtype, np.integer) and x.numel():
            off = float((x - x.round()).abs().max())
            if off > INTEGRAL_TOL:  # images in [0, 1] or normalised: truncating them is garbage
                raise InvalidInputError(
                    f"the ONNX model takes {self.input_dtype} images, but the input holds "
                    f"fractions (up to {off:.3g} from an integer): give the image's own pixel "
                    "values as a float tensor (0..255 for uint8), not scaled or normalised ones."
                )
        return x

    def ensure_layers(self, x: object) -> None:
        """With ``target_layers=None``: the last tensor of the graph with the input's rank and
        more than one spatial position, pooled outputs aside (:func:`graph.choose_tensor`)."""
        if self.layers is not None:
            return
        batch = self.prepare_input(x)
        name = graph.choose_tensor(self.proto, self._graph_shape(batch.shape), self.channels_last)
        self.layers = [(name, name)]
        warn_at_caller(
            f"target_layers=None: explaining tensor {name!r} of the ONNX model "
            "(see camlens.layers(model) for the candidates).",
            AutoLayerWarning,
        )

    def reshape(self, output: Tensor, input_shape: Sequence[int], name: str) -> Tensor:
        """A tensor of the graph as ``(B, C, *grid)``."""
        if self.reshape_transform is not None:
            return self.reshape_transform(output)
        if output.ndim == len(input_shape):
            try:  # channels last (a TensorFlow export's NHWC tensors) moved first
                return auto_reshape(output, input_shape, name)
            except LayerOutputError:
                return output  # a grid unlike the input's (a decoder's), channels first
        return auto_reshape(output, input_shape, name)

    def capture(
        self,
        x: object,
        target_sets: Sequence[object] | None,
        *,
        gradients: bool = True,
        differentiable: bool = False,
        rank_rows: Tensor | None = None,
    ) -> Capture:
        """One session run that outputs the logits and the target tensors (no gradients)."""
        if gradients or differentiable:
            from ..core.base import runnable

            what = "gradients" if gradients else "differentiable=True (a torch graph)"
            raise UnsupportedByAdapterError(
                f"an ONNX model gives no {what}; methods that run on it: "
                f"{', '.join(runnable(self))}."
            )
        batch = self.prepare_input(x)
        self.ensure_layers(batch)
        sets = [None] if target_sets is None else list(target_sets)
        if not sets:
            raise TargetError("target_sets is empty: give at least one set of targets.")
        names = self.layer_names
        session = self.session(names)
        got = self._run(
            session,
            {self.input_name: self._numpy(batch)},
            [self.output_name, *names],
            self.fixed_batch,
        )
        logits = self._torch(got[0], batch)
        n = batch.shape[0]
        ranking = None if rank_rows is None else logits[rank_rows]
        targets = [resolve_targets(t, logits, n, ranking) for t in sets]
        scores = [score_targets(t, logits).detach() for t in targets]
        activations = [
            self.reshape(self._torch(a, batch), batch.shape, name)
            for name, a in zip(names, got[1:], strict=True)
        ]
        return Capture(batch, logits, activations, [], targets, scores, names, self)

    def predict(self, x: Tensor) -> Tensor:
        """Logits of a batch (the graph's first output) as a torch tensor on ``x``'s device."""
        feeds = {self.input_name: self._numpy(x)}
        (logits,) = self._run(self.session(), feeds, [self.output_name], self.fixed_batch)
        return self._torch(logits, x)

    def predict_with_layer_output(
        self, x: Tensor, layer_index: int, replace: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits when tensor ``layer_index`` is ``replace(its value)``: the graph runs up to
        the tensor once on ``x``, then only the tail after it on the replaced value (which may
        be a larger batch of one image's copies). ``replace`` gets and returns the tensor as the
        graph makes it (as the PyTorch adapter's forward hook does: a ViT's ``(B, tokens, dim)``
        stays so; :attr:`Capture.activations` hold it reshaped)."""
        name = self.layer_names[layer_index]
        tail, extras, fixed, constants = self._tail(name)
        head = self._run(
            self.session([name, *extras]),
            {self.input_name: self._numpy(x)},
            [name, *extras],
            self.fixed_batch,
        )
        raw = self._torch(head[0], x)
        new = replace(raw)
        if new.shape[1:] != raw.shape[1:]:
            raise LayerOutputError(
                f"the replaced tensor {name!r} has shape {tuple(new.shape)}, not "
                f"(n, {', '.join(map(str, raw.shape[1:]))})."
            )
        n = new.shape[0]
        feeds = {name: new.detach().cpu().contiguous().numpy().astype(head[0].dtype, copy=False)}
        # the head ran on n images already (Ablation-CAM's full path): every tensor matches
        same = n == x.shape[0]
        shapes = {i.name: i.shape for i in tail.get_inputs()}
        for extra, value in zip(extras, head[1:], strict=True):
            if extra in constants:  # a weight or constant (a ViT's LayerNorm bias, say): as it is
                feeds[extra] = np.require(value, requirements="C")
                continue
            first = (shapes.get(extra) or [None])[0]
            if not same and value.ndim and self.fixed_batch is None and isinstance(first, int):
                raise LayerOutputError(  # e.g. a reshape's target shape made from the batch size
                    f"the tail after {name!r} reads {extra!r}, a tensor of fixed shape "
                    f"{tuple(value.shape)} made before the layer (a shape, say), so it cannot "
                    f"run on {n} copies of the tensor; run the whole graph on copies of the image."
                )
            if not same and value.ndim and value.shape[0] != n:  # a scalar as it is
                if value.shape[0] != 1:
                    raise LayerOutputError(
                        f"the tail after {name!r} reads {extra!r} too, and {n} replaced copies "
                        f"do not match its batch of {value.shape[0]}; explain one image at a time."
                    )
                value = np.broadcast_to(value, (n, *value.shape[1:]))
            # np.require, not ascontiguousarray: that makes a scalar (a shape's entry) 1-d
            feeds[extra] = np.require(value, requirements="C")
        (logits,) = self._run(tail, feeds, [self.output_name], fixed)
        return self._torch(logits, x)

    def forward_cost(self, x1: Tensor, start: object | None = None) -> int:
        """Estimated activation bytes of one image in a run (from ``start``'s node on): the
        largest ``inputs + 2 × outputs`` of a node, from ONNX shape inference."""
        return graph.node_costs(self.proto, self._graph_shape(x1.shape), start)  # type: ignore[arg-type]


class OnnxModel(nn.Module):
    """An ONNX model as a ``torch.nn.Module`` whose forward is the session's logits.

    For code that calls ``model(x)`` (the metrics, ``camlens.evaluate``, the web app) on a
    model that is an ONNX graph; camlens' methods still see an ONNX model (the adapter registry
    detects it by ``camlens_framework``) and explain it with :class:`OnnxAdapter`. No parameters,
    always in eval mode (``train()`` is a no-op); a copy (``copy.deepcopy``) shares the graph and
    makes its own sessions.

    Shapes: ``(B, C, H, W)`` -> the graph's logits ``(B, classes)``.

    Example:
        >>> import io, warnings
        >>> import onnx, torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> buffer = io.BytesIO()
        >>> with warnings.catch_warnings():  # the exporter's deprecation notes
        ...     warnings.simplefilter("ignore")
        ...     torch.onnx.export(model, torch.rand(1, 3, 8, 8), buffer, dynamo=False,
        ...                       input_names=["x"], dynamic_axes={"x": {0: "batch"}})
        >>> proto = onnx.load_from_string(buffer.getvalue())
        >>> OnnxModel(proto)(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 3])
    """

    camlens_framework = "onnx"

    def __init__(
        self,
        model: object,
        providers: list[str] | None = None,
        *,
        channels_last: bool | None = None,
        output: str | None = None,
    ) -> None:
        super().__init__()
        self.adapter = OnnxAdapter(
            model, None, providers=providers, channels_last=channels_last, output=output
        )
        self.name = self.adapter.source.name
        super().train(False)

    @property
    def source(self) -> graph.OnnxSource:
        return self.adapter.source

    def train(self, mode: bool = True) -> OnnxModel:
        return self  # a graph has no training mode

    def forward(self, x: Tensor) -> Tensor:
        return self.adapter.predict(x)

    def __deepcopy__(self, memo: dict) -> OnnxModel:
        source = self.source
        return OnnxModel(
            source.proto, source.providers, channels_last=source.channels_last, output=source.output
        )

    def extra_repr(self) -> str:
        return f"{self.name!r}, providers={self.source.providers}"
