"""ONNX Runtime models: ``camlens.ScoreCAM("model.onnx", "/layer4/Relu_output_0")(x)``.

A ``.onnx`` path, an ``onnx.ModelProto`` or an ``onnxruntime.InferenceSession`` is explained by
:class:`~camlens.onnx.adapter.OnnxAdapter` with the same method code as PyTorch models: the
forward-only CAMs (Eigen-CAM, Score-CAM, SS-CAM, IS-CAM, Ablation-CAM, ...) and the black-box
pixel methods (occlusion, RISE). Installed with ``pip install camlens[onnx]``; imported only when
an ONNX model is given. See docs/models/onnx.md.
"""

from __future__ import annotations

from .adapter import OnnxAdapter, OnnxModel
from .graph import TensorInfo, read_model, tensors

__all__ = ["OnnxAdapter", "OnnxModel", "TensorInfo", "read_model", "tensors"]
