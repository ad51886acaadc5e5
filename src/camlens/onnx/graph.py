"""Reading and editing ONNX graphs (with the ``onnx`` package), for :class:`OnnxAdapter`.

- :func:`read_model`: a ``.onnx`` path, bytes, an ``onnx.ModelProto`` or an
  ``onnxruntime.InferenceSession`` as a private ``ModelProto`` copy plus the session's providers
  (the user's file, proto and session are never changed).
- :func:`tensors`: the intermediate tensors in graph order, with op type and the shapes ONNX
  shape inference gives (for a concrete input shape when one is given).
- :func:`with_outputs`: a copy whose graph also outputs the named tensors (the activations).
- :func:`split_at`: the tail of the graph after a tensor (``onnx.utils.Extractor``), and which
  tensors from before it the tail still reads (skip connections); :func:`input_independent`:
  which of those are made of the graph's weights and constants alone (the same for any batch).
"""

from __future__ import annotations

import difflib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import shape_inference
from onnx.utils import Extractor

from ..core.reshape import channels_last_grid
from ..errors import (
    InvalidInputError,
    LayerNotFoundError,
    LayerOutputError,
    OnnxModelError,
    TargetError,
)

Shape = tuple[int | str | None, ...]

#: Ops whose output is a pooled summary, never an automatic target layer.
POOLING = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceMax"}


@dataclass(frozen=True)
class TensorInfo:
    """One intermediate tensor: its name, the op that makes it, its shape (``None`` or a name
    for an unknown / symbolic axis; ``None`` for the whole shape when inference gave none) and
    its numpy dtype (``None`` when unknown).

    Example:
        >>> TensorInfo("conv1", "Conv", (None, 4, 8, 8), None).shape  # None: a symbolic axis
        (None, 4, 8, 8)
    """

    name: str
    op: str
    shape: Shape | None
    dtype: np.dtype | None


@dataclass
class OnnxSource:
    """A private copy of the user's model, how the user runs it, and the sessions made of it
    (shared by the adapters of one :class:`~camlens.onnx.OnnxModel`)."""

    proto: onnx.ModelProto
    providers: list[str]
    name: str
    options: Any = None  # the session's onnxruntime.SessionOptions (threads, ...), if given one
    #: the graph takes images channels last (:func:`channels_last`, or as the user said)
    channels_last: bool = False
    #: the output the user chose to score (moved first in ``proto``); None: the graph's first
    output: str | None = None
    sessions: dict[Any, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _describe(model: object) -> str:
    if isinstance(model, str | os.PathLike):
        return os.path.basename(os.fspath(model))
    return type(model).__name__


def read_model(model: object, providers: list[str] | None = None) -> OnnxSource:
    """A private ``ModelProto`` of ``model`` (path, bytes, ``ModelProto``, ``InferenceSession``)
    and the providers to run it with (the session's own; else ``providers``; else CPU).

    :class:`OnnxModelError` (one line) for a missing, corrupt or non-ONNX file, or a session
    whose model camlens cannot read back.
    """
    chosen = list(providers) if providers else None
    options = None
    if getattr(type(model), "camlens_framework", None) == "onnx":  # camlens.onnx.OnnxModel
        return model.source  # type: ignore[attr-defined]  # never edited: edits work on copies
    if isinstance(model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model)
        name = proto.graph.name or "onnx model"
    elif isinstance(model, bytes | bytearray):
        proto = _parse(bytes(model), "the given bytes")
        name = proto.graph.name or "the given bytes"
    elif isinstance(model, str | os.PathLike):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise OnnxModelError(f"no ONNX file at {path}: the file does not exist.")
        with open(path, "rb") as f:
            data = f.read()
        proto = _parse(data, path)
        _load_external(proto, path)
        name = os.path.basename(path)
    elif type(model).__name__ == "InferenceSession" and hasattr(model, "get_providers"):
        chosen = chosen or list(model.get_providers())
        options = model.get_session_options()
        path = getattr(model, "_model_path", None)
        data = getattr(model, "_model_bytes", None)
        if data is not None:
            proto = _parse(bytes(data), "the session's model")
        elif path:
            if not os.path.isfile(path):
                raise OnnxModelError(
                    f"this InferenceSession was made from {path}, which is not there now (moved, "
                    "or relative to another directory); pass the .onnx path or the "
                    "onnx.ModelProto."
                )
            found = read_model(path)  # checked, its layout read
            _check_same_model(model, found.proto, path)
            return OnnxSource(found.proto, chosen, found.name, options, found.channels_last)
        else:
            raise OnnxModelError(
                "cannot read the graph back from this InferenceSession; pass the .onnx path "
                "or the onnx.ModelProto it was made from."
            )
        name = proto.graph.name or "onnx model"
    else:
        raise OnnxModelError(
            f"{_describe(model)} is not an ONNX model: pass a .onnx path, an onnx.ModelProto "
            "or an onnxruntime.InferenceSession."
        )
    if not proto.graph.node:
        raise OnnxModelError(f"{name} holds no ONNX graph (no nodes): is it an ONNX model?")
    try:
        onnx.checker.check_model(proto)
    except Exception as error:  # onnx raises ValidationError and others
        raise OnnxModelError(f"{name} is not a valid ONNX model: {first_line(error)}") from None
    return OnnxSource(proto, chosen or ["CPUExecutionProvider"], name, options, _layout(proto))


def _check_same_model(session: Any, proto: onnx.ModelProto, path: str) -> None:
    """:class:`OnnxModelError` when the file a session was made from now holds a graph of other
    inputs or outputs (names and ranks): camlens reads the graph back from that file."""

    def signature(values: Any) -> list[tuple[str, int]]:
        return [(v.name, len(v.shape)) for v in values]

    weights = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in weights]
    file_side = (
        [(i.name, len(i.type.tensor_type.shape.dim)) for i in inputs],
        [(o.name, len(o.type.tensor_type.shape.dim)) for o in proto.graph.output],
    )
    if file_side != (signature(session.get_inputs()), signature(session.get_outputs())):
        raise OnnxModelError(
            f"{path} holds another model than this InferenceSession was made from (its inputs "
            "or outputs differ: the file changed since); pass the model's .onnx path, bytes or "
            "onnx.ModelProto."
        )


def _layout(proto: onnx.ModelProto) -> bool:
    """:func:`channels_last`; False for a graph without one image input (the adapter refuses
    it, :func:`image_input`)."""
    try:
        return channels_last(proto)
    except OnnxModelError:
        return False


def first_line(error: BaseException) -> str:
    """An error's message as one line of at most 300 characters."""
    text = " ".join(str(error).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(error).__name__


def _parse(data: bytes, what: str) -> onnx.ModelProto:
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception:
        raise OnnxModelError(
            f"{what} is not an ONNX model (it cannot be parsed as one; corrupt or another "
            "format?). Export it with torch.onnx.export or tf2onnx."
        ) from None
    return proto


def _load_external(proto: onnx.ModelProto, path: str) -> None:
    """Weights stored next to the file (``save_as_external_data``) loaded into the copy."""
    from onnx.external_data_helper import load_external_data_for_model, uses_external_data

    if any(uses_external_data(t) for t in proto.graph.initializer):
        try:
            load_external_data_for_model(proto, os.path.dirname(os.path.abspath(path)))
        except Exception as error:
            raise OnnxModelError(
                f"cannot load the external weights of {path}: {first_line(error)}"
            ) from None


def image_input(proto: onnx.ModelProto) -> onnx.ValueInfoProto:
    """The graph's one input that is not an initializer (:class:`OnnxModelError` otherwise)."""
    weights = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in weights]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise OnnxModelError(
            f"camlens explains models with one image input; this graph has {len(inputs)} ({names})."
        )
    return inputs[0]


#: Ops whose data input (the first) is channels first, ``(B, C, *spatial)``, by the ONNX spec.
CHANNELS_FIRST_OPS = {
    "Conv", "ConvInteger", "ConvTranspose", "QLinearConv", "DeformConv", "MaxPool", "AveragePool",
    "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "BatchNormalization",
    "InstanceNormalization", "GroupNormalization", "LRN", "SpaceToDepth", "DepthToSpace",
    "MaxRoiPool", "RoiAlign",
}  # fmt: skip

#: Elementwise ops (a preprocessing's scaling, casts): their output keeps their input's layout.
ELEMENTWISE_OPS = {
    "Identity", "Cast", "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Sqrt", "Pow", "Clip", "Relu",
    "Sigmoid", "Tanh", "Max", "Min", "QuantizeLinear", "DequantizeLinear",
}  # fmt: skip


def channels_last(proto: onnx.ModelProto) -> bool:
    """Whether the graph takes its images channels last, ``(B, *spatial, C)``, as TensorFlow and
    Keras models converted by tf2onnx do.

    The ops that read the image say it first (:func:`layout_from_ops`): a convolution or pooling
    (channels first by the ONNX spec) or a ``Transpose`` that moves the last axis to the second
    (tf2onnx's). When they do not, the input's shape: its last axis a fixed 1 to 4 (the colour
    channels) and its second not. :class:`~camlens.onnx.OnnxModel` (``channels_last=``) says it
    for a graph that neither tells.
    """
    found = layout_from_ops(proto)
    if found is not None:
        return found
    shape = value_shape(image_input(proto))
    if shape is None or len(shape) < 3:
        return False
    last, second = shape[-1], shape[1]
    colours = isinstance(last, int) and 1 <= last <= 4
    return colours and not (isinstance(second, int) and second <= 4)


def layout_from_ops(proto: onnx.ModelProto) -> bool | None:
    """What the ops reading the image input (through elementwise ops) say of its layout: True
    (channels last) for a ``Transpose`` of perm ``(0, r-1, 1, ..., r-2)``, False for a
    convolution or pooling (:data:`CHANNELS_FIRST_OPS`) or a ``Transpose`` of perm
    ``(0, 2, ..., r-1, 1)``; None when they say nothing or disagree. A rank-3 ``Transpose`` says
    nothing: ``(0, 2, 1)`` is both."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in proto.graph.node:
        for name in dict.fromkeys(node.input):
            readers.setdefault(name, []).append(node)
    found: set[bool] = set()
    frontier, seen = [image_input(proto).name], set()
    while frontier:
        name = frontier.pop()
        for node in readers.get(name, ()):
            first = bool(node.input) and node.input[0] == name
            if node.op_type in CHANNELS_FIRST_OPS and first:
                found.add(False)
            elif node.op_type == "Transpose" and first:
                perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), [])
                rank = len(perm)
                if rank >= 4 and perm == [0, rank - 1, *range(1, rank - 1)]:
                    found.add(True)
                elif rank >= 4 and perm == [0, *range(2, rank), 1]:
                    found.add(False)
            elif node.op_type in ELEMENTWISE_OPS:
                frontier += [out for out in node.output if out not in seen]
                seen.update(node.output)
    return found.pop() if len(found) == 1 else None


def graph_shape(example: object, last: bool) -> tuple[int, ...]:
    """An example input's shape in the layout of a graph whose images are channels ``last`` (or
    not): a torch tensor is camlens' channels-first ``(B, C, *spatial)``; anything else (numpy)
    is in the graph's own layout already."""
    shape = tuple(int(d) for d in getattr(example, "shape", ()))
    torch_tensor = type(example).__module__.startswith("torch")
    return to_graph_layout(shape, torch_tensor and last)


def to_graph_layout(shape: tuple[int, ...], last: bool) -> tuple[int, ...]:
    """A camlens ``(B, C, *spatial)`` shape in the layout of a graph whose images are channels
    ``last`` (or not)."""
    return (shape[0], *shape[2:], shape[1]) if last and len(shape) >= 3 else shape


def tensor_grid(shape: Shape, input_shape: tuple[int, ...], last: bool) -> Shape:
    """The grid axes of a tensor with the input's rank (``input_shape`` in the graph's layout,
    channels ``last`` or not): its trailing axes when they lie channels last
    (``camlens.core.reshape.channels_last_grid``, the rule the capture reshapes by), else the
    axes after the channels."""
    spatial = input_shape[1:-1] if last else input_shape[2:]
    dims = shape[1:]
    if all(isinstance(d, int) for d in dims) and channels_last_grid(dims, spatial):  # type: ignore[arg-type]
        return shape[1:-1]
    return shape[2:]


def value_shape(info: onnx.ValueInfoProto) -> Shape | None:
    """A value's shape: ints, symbolic names, ``None`` for unknown axes; ``None`` if unranked."""
    tensor = info.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for d in tensor.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return tuple(dims)


def shape_text(shape: Shape) -> str:
    """``(batch, 2, 32)``: a shape as the graph declares it, symbolic axes by name."""
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def value_dtype(info: onnx.ValueInfoProto) -> np.dtype | None:
    """A value's numpy dtype (``None`` when the graph does not say or numpy has none)."""
    elem = info.type.tensor_type.elem_type
    if not elem:
        return None
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
    except Exception:
        return None


def with_input_shape(proto: onnx.ModelProto, shape: tuple[int, ...]) -> onnx.ModelProto:
    """A copy whose image input has the concrete ``shape`` (for shape inference)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    name = image_input(proto).name
    for value in copy.graph.input:
        if value.name == name:
            dims = value.type.tensor_type.shape.dim
            if len(dims) == len(shape):
                for d, n in zip(dims, shape, strict=True):
                    d.Clear()
                    d.dim_value = int(n)
    return copy


def inferred(proto: onnx.ModelProto, input_shape: tuple[int, ...] | None = None) -> onnx.ModelProto:
    """The model with ONNX shape inference's ``value_info`` (for ``input_shape`` if given)."""
    model = proto if input_shape is None else with_input_shape(proto, input_shape)
    try:
        return shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # a graph inference cannot go through: shapes stay unknown
        return model


def tensors(proto: onnx.ModelProto, input_shape: tuple[int, ...] | None = None) -> list[TensorInfo]:
    """Every node output (the intermediate tensors and the graph's outputs), in graph order."""
    model = inferred(proto, input_shape)
    infos = {v.name: v for v in (*model.graph.value_info, *model.graph.output)}
    found = []
    for node in model.graph.node:
        for out in node.output:
            if not out:
                continue
            info = infos.get(out)
            found.append(
                TensorInfo(
                    out,
                    node.op_type,
                    None if info is None else value_shape(info),
                    None if info is None else value_dtype(info),
                )
            )
    return found


def concrete_input_shape(
    proto: onnx.ModelProto, example: tuple[int, ...] | None = None
) -> tuple[int, ...]:
    """The input shape for shape inference: ``example``'s (batch 1), else the graph's own with
    a symbolic batch axis as 1; :class:`InvalidInputError` when other axes are symbolic."""
    if example is not None:
        return (1, *(int(d) for d in example[1:]))
    shape = value_shape(image_input(proto))
    if shape is None or any(not isinstance(d, int) for d in shape[1:]):
        raise InvalidInputError(
            f"the ONNX model's input has no fixed size ({shape}); pass an example input: "
            "camlens.layers(model, x)."
        )
    return (1, *shape[1:])  # type: ignore[misc]


def is_candidate(info: TensorInfo, input_shape: tuple[int, ...], last: bool = False) -> bool:
    """A tensor worth explaining: floating, the input's rank, more than one spatial position,
    not a pooled summary, not the input itself."""
    if info.op in POOLING or info.shape is None or len(info.shape) != len(input_shape):
        return False
    if info.dtype is not None and not np.issubdtype(info.dtype, np.floating):
        return False
    spatial = tensor_grid(info.shape, input_shape, last)
    return all(isinstance(d, int) for d in spatial) and int(np.prod(spatial)) > 1  # type: ignore[arg-type]


def candidates(
    proto: onnx.ModelProto, input_shape: tuple[int, ...], last: bool
) -> list[TensorInfo]:
    """The candidate tensors (:func:`is_candidate`) for an input of ``input_shape`` (in the
    layout of a graph whose images are channels ``last`` or not)."""
    shape, varying = concrete_input_shape(proto, input_shape), input_dependent(proto)
    return [t for t in tensors(proto, shape) if t.name in varying and is_candidate(t, shape, last)]


def layer_infos(model: object, example_input: object = None) -> list[Any]:
    """``camlens.layers`` for an ONNX model: every node output in graph order as a
    :class:`~camlens.core.discovery.LayerInfo` (``kind`` the op type, shapes from ONNX shape
    inference for ``example_input``'s size, else the graph's own). ``positions_with_gradient``
    is 0: an ONNX graph gives no gradients."""
    from ..core.discovery import LayerInfo

    source = read_model(model)
    proto, last = source.proto, source.channels_last
    example = None if example_input is None else graph_shape(example_input, last)
    shape = concrete_input_shape(proto, example or None)
    infos, varying = [], input_dependent(proto)
    for t in tensors(proto, shape):
        dims = tuple(d if isinstance(d, int) else -1 for d in (t.shape or ()))
        candidate = t.name in varying and is_candidate(t, shape, last)
        grid = tuple(tensor_grid(dims, shape, last)) if candidate else None
        infos.append(LayerInfo(t.name, t.op, dims, grid, 0, 1, candidate))
    return infos


def choose_tensor(proto: onnx.ModelProto, input_shape: tuple[int, ...], last: bool) -> str:
    """The tensor ``target_layers=None`` takes: the last candidate in graph order."""
    found = candidates(proto, input_shape, last)
    if not found:
        raise LayerNotFoundError(
            "found no tensor of the ONNX graph with a spatial output; pass target_layers= "
            "(camlens.layers(model) lists the tensors)."
        )
    return found[-1].name


def check_names(proto: onnx.ModelProto, names: list[str]) -> None:
    """:class:`LayerNotFoundError` (close matches listed) for a name no node outputs."""
    known = [out for node in proto.graph.node for out in node.output if out]
    have = set(known)
    for name in names:
        if not isinstance(name, str):
            raise LayerNotFoundError(
                f"an ONNX target layer is a tensor name (a str), not {type(name).__name__}."
            )
        if name not in have:
            inside = [k for k in known if name.lower() in k.lower()]  # "relu2" in "/relu2/..."
            close = list(dict.fromkeys(inside[:5] + difflib.get_close_matches(name, known, 5, 0.5)))
            close = close[:5]
            hint = f" Close matches: {', '.join(close)}." if close else ""
            raise LayerNotFoundError(
                f"no tensor named {name!r} in the ONNX graph.{hint} List the names with "
                "camlens.layers(model) or `camlens layers MODEL.onnx`."
            )
    fixed = input_independent(proto, names)
    for name in names:
        if name in fixed:
            raise LayerOutputError(
                f"tensor {name!r} does not depend on the image (it is made of the graph's weights "
                "and constants), so its map would be the same for every image; pick a tensor "
                "computed from the input (camlens.layers(model) marks them with candidate)."
            )


def with_outputs(proto: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy whose graph outputs ``names`` after its own outputs (types from shape inference,
    else none: onnxruntime takes the type the node makes)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    have = {o.name for o in copy.graph.output}
    infos = {v.name: v for v in inferred(proto).graph.value_info}
    for name in names:
        if name in have:
            continue
        info = infos.get(name)
        if info is None:  # no type known (a contrib op's): onnxruntime finds it when it runs
            info = onnx.helper.make_empty_tensor_value_info(name)
        copy.graph.output.append(info)
        have.add(name)
    return copy


def with_first_output(proto: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """A copy whose outputs start with ``name`` (the one camlens scores), the others after it;
    :class:`TargetError` naming the outputs when the graph has none of that name."""
    names = [o.name for o in proto.graph.output]
    if name not in names:
        raise TargetError(
            f"the ONNX graph has no output {name!r}; its outputs: {', '.join(names)}."
        )
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    outputs = sorted(copy.graph.output, key=lambda o: o.name != name)  # stable: the rest in order
    del copy.graph.output[:]
    copy.graph.output.extend(outputs)
    return copy


def split_at(proto: onnx.ModelProto, layer: str) -> tuple[onnx.ModelProto, list[str]]:
    """``(tail, extras)``: the graph from tensor ``layer`` to the outputs, with inputs
    ``[layer, *extras]`` — ``extras`` the tensors from before ``layer`` that the tail still reads
    (a skip connection around it). :class:`LayerOutputError` when the tail cannot be cut out."""
    model = inferred(proto)
    outputs = [model.graph.output[0].name]  # the logits
    if layer in outputs:
        raise LayerOutputError(
            f"{layer!r} is an output of the graph: nothing runs after it; pick an earlier tensor."
        )
    nodes = list(model.graph.node)
    after = _downstream(nodes, {layer})  # the tensors that depend on the layer
    if outputs[0] not in after:
        raise LayerOutputError(f"the graph's output does not depend on tensor {layer!r}.")
    produced = {o: i for i, node in enumerate(nodes) for o in node.output if o}
    weights = {t.name for t in model.graph.initializer}
    # the nodes between the layer and the output, and what else they read
    needed: set[int] = set()
    extras: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name == layer or name in weights:
            continue
        if name not in after:
            extras.add(name)  # made before the layer (or the graph input): a skip connection
            continue
        index = produced[name]
        if index in needed:
            continue
        needed.add(index)
        node = nodes[index]
        stack.extend(i for i in node.input if i)
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                stack.extend(_outer_reads(attr))
    ordered = sorted(extras, key=lambda n: produced.get(n, -1))
    try:
        tail = Extractor(model).extract_model([layer, *ordered], outputs)
    except Exception as error:
        raise LayerOutputError(
            f"cannot cut the ONNX graph at {layer!r}: {first_line(error)}"
        ) from None
    return tail, ordered


def input_independent(proto: onnx.ModelProto, names: list[str]) -> set[str]:
    """Those of ``names`` whose values do not depend on the graph's inputs: made of initializers
    and constants alone (an exporter's ``Identity`` of a weight, a ``Constant``), so the same for
    any batch; the tail after a layer reads them unchanged whatever batch of copies it runs on."""
    varying = input_dependent(proto)
    return {n for n in names if n not in varying}


def input_dependent(proto: onnx.ModelProto) -> set[str]:
    """The graph's inputs and every tensor computed from them."""
    weights = {t.name for t in proto.graph.initializer}
    inputs = {i.name for i in proto.graph.input if i.name not in weights}
    return _downstream(list(proto.graph.node), inputs)


def _downstream(nodes: list[onnx.NodeProto], sources: set[str]) -> set[str]:
    """``sources`` and every tensor computed from them (``nodes`` in topological order; a
    subgraph's reads from around it count)."""
    found = set(sources)
    for node in nodes:
        reads = [i for i in node.input if i]
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                reads += _outer_reads(attr)
        if any(r in found for r in reads):
            found.update(o for o in node.output if o)
    return found


def _outer_reads(attr: onnx.AttributeProto) -> list[str]:
    """Names a subgraph (If/Loop/Scan body) reads from the graph around it."""
    graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
    names: list[str] = []
    for g in graphs:
        local = {i.name for i in g.input} | {t.name for t in g.initializer}
        local |= {o for n in g.node for o in n.output}
        names += [i for n in g.node for i in n.input if i and i not in local]
    return names


def node_costs(
    proto: onnx.ModelProto, input_shape: tuple[int, ...], start: str | None = None
) -> int:
    """A simple estimate of the activation bytes one image of ``input_shape`` costs in a run:
    the largest ``inputs + 2 × outputs`` of any node (weights aside), counting from the node
    that makes ``start`` on if given. Unknown shapes count as nothing."""
    model = inferred(proto, (1, *input_shape[1:]))
    infos = {v.name: v for v in (*model.graph.value_info, *model.graph.output, *model.graph.input)}
    weights = {t.name for t in model.graph.initializer}

    def nbytes(name: str) -> int:
        info = infos.get(name)
        if info is None or name in weights:
            return 0
        shape, dtype = value_shape(info), value_dtype(info)
        if shape is None or dtype is None or any(not isinstance(d, int) for d in shape):
            return 0
        return int(np.prod(shape, dtype=np.int64)) * dtype.itemsize

    best, started = 0, start is None
    for node in model.graph.node:
        if started:
            size = sum(nbytes(i) for i in node.input if i)
            size += 2 * sum(nbytes(o) for o in node.output if o)
            best = max(best, size)
        if start is not None and start in node.output:
            started = True
    return best


# --- the layer tools core asks for an ONNX model (camlens.core.adapters.AdapterSource.layers) ---
def choose_layer(model: object, example_input: Any) -> str:
    """The tensor ``target_layers=None`` explains (see :func:`choose_tensor`)."""
    source = read_model(model)
    last = source.channels_last
    return choose_tensor(source.proto, graph_shape(example_input, last), last)


def resolve_layers(model: object, target_layers: object) -> list[tuple[str, str]]:
    """``[(name, name), ...]`` for tensor names found in the graph (close matches otherwise)."""
    names = [target_layers] if isinstance(target_layers, str) else list(target_layers)  # type: ignore[call-overload]
    if not names:
        raise LayerNotFoundError("target_layers is empty: give at least one tensor name.")
    check_names(read_model(model).proto, names)
    return [(n, n) for n in names]
