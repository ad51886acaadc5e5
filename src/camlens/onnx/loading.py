"""An ``.onnx`` file as a :class:`~camlens.loading.LoadedModel`, for the CLI, the web app and
``camlens.evaluate`` (``--model model.onnx``).

Preprocessing: the square side is the graph input's own when it is fixed (else ``--size``,
default 224); resize and center crop as for ImageNet; the mean and std are ImageNet's unless
the model's metadata says otherwise (``metadata_props`` ``mean`` and ``std``, three
comma-separated numbers each; ``onnx.helper.set_model_props(model, {"mean": "0.5,0.5,0.5",
"std": "0.5,0.5,0.5"})``). A graph of integer input (uint8) gets the pixel values, 0..255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import OnnxModelError
from . import graph


def _triple(value: str, key: str, path: Path) -> tuple[float, float, float]:
    try:
        numbers = tuple(float(v) for v in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != 3:
        raise OnnxModelError(
            f"{path}: the metadata {key!r} = {value!r} is not three comma-separated numbers."
        )
    return numbers  # type: ignore[return-value]


def load_onnx_file(path: Path, device: torch.device, input_size: int | None):
    """The :class:`~camlens.loading.LoadedModel` of an ONNX file: its model is a
    :class:`~camlens.onnx.OnnxModel` (the graph read once; CPU sessions)."""
    from ..loading import (
        IMAGENET_MEAN,
        IMAGENET_STD,
        LoadedModel,
        _imagenet_crop,
        _Preprocess,
        sha256_of,
    )
    from .adapter import OnnxModel

    model = OnnxModel(path)
    source = model.source
    shape = graph.value_shape(graph.image_input(source.proto))
    if shape is not None and len(shape) != 4:
        raise OnnxModelError(
            f"{path}: the command line, the server and evaluate feed 2-D images (B, C, H, W); "
            f"this graph takes {graph.shape_text(shape)}. Explain it from Python: "
            "camlens.EigenCAM(path, layer)(x)."
        )
    # the image's height and width: after the channels, or before them in a channels-last graph
    side = None if shape is None or len(shape) != 4 else shape[1:3]
    if side is not None and not source.channels_last:
        side = shape[2:]  # type: ignore[index]
    fixed = side is not None and all(isinstance(d, int) for d in side)
    if fixed and side[0] != side[1]:  # type: ignore[index]
        raise OnnxModelError(
            f"{path}: the CLI feeds square images; this graph takes {side[0]}x{side[1]}."  # type: ignore[index]
        )
    size = int(side[0]) if fixed else (input_size or 224)  # type: ignore[index]
    props = {p.key: p.value for p in source.proto.metadata_props}
    # a graph of integer input (uint8) takes the pixel values themselves: mean 0, std 1/255
    pixels = np.issubdtype(model.adapter.input_dtype, np.integer)
    mean = (0.0,) * 3 if pixels else IMAGENET_MEAN
    std = (1 / 255,) * 3 if pixels else IMAGENET_STD
    mean = _triple(props["mean"], "mean", path) if "mean" in props else mean
    std = _triple(props["std"], "std", path) if "std" in props else std
    crop = _imagenet_crop(size)
    note = (
        "mean/std from the model's metadata"
        if "mean" in props or "std" in props
        else (f"{model.adapter.input_dtype} pixel values" if pixels else "ImageNet mean/std")
    )
    return LoadedModel(
        model=model,
        name=path.name,
        categories=None,
        preprocess=_Preprocess(crop, mean, std),
        input_size=size,
        device=device,
        weights=str(path),
        weights_sha256=sha256_of(path),
        target_layer=None,
        crop=crop,
        notes=[f"ONNX model {path}", f"preprocessing: {note}, {size}x{size} center crop"],
    )
