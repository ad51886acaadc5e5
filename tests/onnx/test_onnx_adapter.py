"""ONNX Runtime models: every forward-only method gives the PyTorch path's map (<= 1e-5) on a
small CNN exported with ``torch.onnx.export``; bad input is one typed line; nothing of the
user's file, proto or session changes."""

from __future__ import annotations

import copy
import warnings

import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image
from torch import nn

import camlens
from camlens.core.base import runnable
from camlens.errors import (
    AutoLayerWarning,
    AutoOutputWarning,
    FixedBatchWarning,
    InvalidInputError,
    LayerNotFoundError,
    LayerOutputError,
    OnnxModelError,
    TargetError,
    UnsupportedByAdapterError,
    exit_code,
)
from camlens.methods import get_method
from camlens.onnx import OnnxAdapter, OnnxModel
from camlens.pixel import RISE, Occlusion

RELU2 = "/relu2/Relu_output_0"
RELU3 = "/relu3/Relu_output_0"  # the tail after it also reads relu2 (the skip connection)
FORWARD_ONLY = [
    "eigencam",
    "scorecam",
    "sscam",
    "iscam",
    "ablationcam",
    "randomcam",
    "fem",
    "sobelcam",
    "kpcacam",
]


def both(name, cnn, onnx_model, images, torch_layer, onnx_layer, **options):
    """The map of method ``name`` on the torch model and on its ONNX export (same seed)."""
    cls = get_method(name)
    torch.manual_seed(0)
    expected = cls(cnn, torch_layer, **options)(images)
    torch.manual_seed(0)
    cam = cls(onnx_model, onnx_layer, **options)
    got = cam(images)
    return expected, got, cam


def test_the_methods_that_run_on_onnx_are_the_forward_only_and_black_box_ones(onnx_file):
    expected = [*FORWARD_ONLY, "rise", "occlusion", "lime", "kernelshap"]
    assert runnable(OnnxAdapter(onnx_file, RELU2)) == expected


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("rise", {"n_masks": 40, "grid_size": 4, "seed": 2}),
        ("occlusion", {"patch_size": 4, "stride": 2}),
    ],
)
def test_rise_and_occlusion_maps_give_the_pytorch_maps(name, options, cnn, onnx_file, images):
    expected, got, cam = both(name, cnn, onnx_file, images, None, None, **options)
    assert got.shape == (2, 16, 16) and float(expected.max()) == 1.0
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert cam.method.runner is cam.adapter  # one adapter: the method's scores go through it


@pytest.mark.parametrize("name", FORWARD_ONLY)
@pytest.mark.parametrize(("torch_layer", "onnx_layer"), [("relu2", RELU2), ("relu3", RELU3)])
def test_every_forward_only_method_gives_the_pytorch_map(
    name, torch_layer, onnx_layer, cnn, onnx_file, images
):
    options = {"num_samples": 3} if name in ("sscam", "iscam") else {}  # fast
    expected, got, _ = both(name, cnn, onnx_file, images, torch_layer, onnx_layer, **options)
    assert got.shape == expected.shape == (2, 16, 16)
    assert name == "randomcam" or float(expected.max()) > 0  # a map, not zeros
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_ablation_cam_runs_only_the_tail_after_the_layer(cnn, onnx_file, images):
    expected, got, cam = both("ablationcam", cnn, onnx_file, images, "relu3", RELU3)
    assert cam.last_path == "tail"
    tail, extras, _, constants = cam.adapter._tail(RELU3)
    assert extras == [RELU2]  # the skip connection comes from before the layer
    assert constants == set()
    ops = [n.op_type for n in onnx.load_from_string(_model_bytes(tail)).graph.node]
    assert ops == ["Add", "GlobalAveragePool", "Flatten", "Gemm"]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def _model_bytes(session: ort.InferenceSession) -> bytes:
    return session._model_bytes


def test_score_cam_scores_the_masked_inputs_in_batches(cnn, onnx_file, images):
    calls = []
    cam = camlens.ScoreCAM(onnx_file, RELU2, batch_size=5)
    predict = cam.adapter.predict
    cam.adapter.predict = lambda x: calls.append(x.shape[0]) or predict(x)
    cam(images)
    assert max(calls) == 5 and sum(calls) == 2 * 8  # B x C masked images, 5 per session run


def test_rise_and_occlusion_give_the_pytorch_attributions(cnn, onnx_file, images):
    for make in (
        lambda m: RISE(m, n_masks=40, grid_size=4, batch_size=16, seed=3),
        lambda m: Occlusion(m, patch_size=4, stride=2, batch_size=32),
    ):
        expected, got = make(cnn).explain(images), make(onnx_file).explain(images)
        assert float(expected.attributions.abs().max()) > 0
        torch.testing.assert_close(got.attributions, expected.attributions, atol=1e-5, rtol=0)
        torch.testing.assert_close(got.scores, expected.scores, atol=1e-5, rtol=0)


def test_a_path_bytes_a_proto_and_a_session_give_the_same_map_and_stay_as_they_were(
    onnx_file, images
):
    raw = onnx_file.read_bytes()
    proto = onnx.load(str(onnx_file))
    before = proto.SerializeToString()
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    logits = session.run(None, {"input": images.numpy()})[0]
    maps = [camlens.ScoreCAM(m, RELU2)(images) for m in (onnx_file, raw, proto, session)]
    for other in maps[1:]:
        torch.testing.assert_close(other, maps[0])
    camlens.AblationCAM(session, RELU3)(images)
    assert onnx_file.read_bytes() == raw
    assert proto.SerializeToString() == before
    assert [o.name for o in session.get_outputs()] == outputs  # no output added to it
    assert (session.run(None, {"input": images.numpy()})[0] == logits).all()


def test_explain_shares_one_session_run_between_methods(cnn, onnx_file, images):
    results = camlens.explain(onnx_file, images, ["eigencam", "scorecam"], RELU2)
    for name in ("eigencam", "scorecam"):
        expected = get_method(name)(cnn, "relu2")(images)
        torch.testing.assert_close(results[name].maps, expected, atol=1e-5, rtol=0)


def test_numpy_input_and_class_targets(cnn, onnx_file, images):
    expected = camlens.EigenCAM(cnn, "relu2").explain(images, targets=[3, 1])
    got = camlens.EigenCAM(onnx_file, RELU2).explain(images.numpy(), targets=[3, 1])
    torch.testing.assert_close(got.maps, expected.maps, atol=1e-5, rtol=0)
    torch.testing.assert_close(got.scores, expected.scores, atol=1e-5, rtol=0)
    assert [t.category for t in got.targets] == [3, 1]


def test_a_fixed_batch_model_runs_image_by_image_with_a_warning(cnn, fixed_file, images):
    for name, t_layer, o_layer in [("scorecam", "relu2", RELU2), ("ablationcam", "relu3", RELU3)]:
        with pytest.warns(FixedBatchWarning, match="batches of 1 only"):
            expected, got, _ = both(name, cnn, fixed_file, images, t_layer, o_layer)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    with pytest.warns(FixedBatchWarning):
        got = RISE(fixed_file, n_masks=8, grid_size=4, batch_size=4).explain(images)
    expected = RISE(cnn, n_masks=8, grid_size=4, batch_size=4).explain(images)
    torch.testing.assert_close(got.attributions, expected.attributions, atol=1e-5, rtol=0)


def test_no_target_layer_picks_the_last_spatial_tensor_and_warns(onnx_file, images):
    cam = camlens.EigenCAM(onnx_file)
    with pytest.warns(AutoLayerWarning, match="/Add_output_0"):
        cam(images)
    assert cam.adapter.layer_names == ["/Add_output_0"]  # the skip sum, before the pooling


def test_layers_lists_the_tensors_with_their_inferred_shapes(onnx_file):
    infos = {i.name: i for i in camlens.layers(onnx_file)}
    assert infos[RELU2].kind == "Relu" and infos[RELU2].shape == (1, 8, 8, 8)
    assert infos[RELU2].candidate and infos[RELU2].grid == (8, 8)
    assert not infos["/pool/GlobalAveragePool_output_0"].candidate
    assert not infos["logits"].candidate and infos["logits"].shape == (1, 5)
    larger = {i.name: i for i in camlens.layers(onnx_file, torch.zeros(1, 3, 32, 32))}
    assert larger[RELU2].shape == (1, 8, 16, 16)
    assert camlens.core.discovery.choose_layer(onnx_file, torch.zeros(1, 3, 16, 16)) == (
        "/Add_output_0"
    )


# --- bad input: one typed line, nothing of the user's changed ------------------------------------
def test_a_gradient_method_names_the_methods_that_run(onnx_file):
    for cls in (camlens.GradCAM, camlens.LayerCAM, camlens.HiResCAM):
        with pytest.raises(UnsupportedByAdapterError) as info:
            cls(onnx_file, RELU2)
        message = str(info.value)
        assert "needs gradients" in message and "\n" not in message
        assert "scorecam" in message and "eigencam" in message and "gradcam," not in message
        assert exit_code(info.value) == 2
    with pytest.raises(UnsupportedByAdapterError, match="needs torch_modules"):
        camlens.CAM(onnx_file, RELU2)


def test_an_unknown_tensor_name_lists_close_matches(onnx_file):
    with pytest.raises(LayerNotFoundError) as info:
        camlens.ScoreCAM(onnx_file, "/relu2/Relu_output")
    message = str(info.value)
    assert RELU2 in message and "camlens layers" in message and "\n" not in message
    with pytest.raises(LayerNotFoundError):
        camlens.EigenCAM(onnx_file, ["/relu2/Relu_output_0", "layer4"])


class ConstantInside(nn.Module):
    """conv + a (1, 4, 8, 8) tensor made of a buffer alone (a Constant/Mul the exporter keeps
    with constant folding off), ReLU, mean, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("offset", torch.rand(1, 4, 8, 8))
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x) + self.offset * 2.0).mean(dim=(2, 3)))


def test_a_tensor_made_of_weights_alone_is_no_layer_and_no_candidate(tmp_path):
    # before: it was a candidate, and Eigen-CAM gave one map for the batch (1, 8, 8) with no
    # error; Score-CAM an IndexError (the dequantised weights of a QDQ graph did the same)
    torch.manual_seed(0)
    path = tmp_path / "constant.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            ConstantInside().eval(), (torch.zeros(1, 3, 8, 8),), path, input_names=["input"],
            dynamic_axes={"input": {0: "batch"}}, do_constant_folding=False, dynamo=False,
        )  # fmt: skip
    proto = onnx.load(path)
    fixed = next(n.output[0] for n in proto.graph.node if n.op_type == "Mul")
    infos = {i.name: i for i in camlens.layers(path)}
    assert infos[fixed].shape == (1, 4, 8, 8) and not infos[fixed].candidate
    assert infos["/Relu_output_0"].candidate
    for method in (camlens.EigenCAM, camlens.ScoreCAM, camlens.AblationCAM):
        with pytest.raises(LayerOutputError, match="does not depend on the image") as info:
            method(path, fixed)
        assert "\n" not in str(info.value)
    maps = camlens.EigenCAM(path, "/Relu_output_0")(torch.rand(2, 3, 8, 8))
    assert maps.shape == (2, 8, 8)


@pytest.mark.parametrize(
    "content",
    [b"", b"not an onnx model at all\n", b"\x08\x07\x12\x04junk" * 3, "half"],
    ids=["empty", "text", "junk-protobuf", "truncated"],
)
def test_a_corrupt_or_non_onnx_file_is_one_typed_line(content, onnx_file, tmp_path):
    if content == "half":
        data = onnx_file.read_bytes()
        content = data[: len(data) // 2]
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxModelError) as info:
        camlens.ScoreCAM(path, RELU2)
    assert "\n" not in str(info.value) and "model.onnx" in str(info.value)
    assert path.read_bytes() == content
    with pytest.raises(OnnxModelError) as info:  # the same content as bytes
        camlens.ScoreCAM(content, RELU2)
    assert "\n" not in str(info.value) and "the given bytes" in str(info.value)
    with pytest.raises(OnnxModelError, match="does not exist"):
        camlens.EigenCAM(tmp_path / "missing.onnx", RELU2)


def test_differentiable_is_refused_on_onnx(onnx_file, images):
    cam = camlens.EigenCAM(onnx_file, RELU2)
    with pytest.raises(UnsupportedByAdapterError, match="differentiable"):
        cam.adapter.capture(images, None, gradients=False, differentiable=True)


def test_warnings_are_not_raised_on_a_plain_dynamic_model(onnx_file, images):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        camlens.ScoreCAM(onnx_file, RELU2)(images)


class ShapeTail(nn.Module):
    """conv-relu, then a reshape to ``(x.shape[0], -1)`` of the input's batch size, linear: the
    tail after the ReLU reads a shape tensor made from the input before it."""

    def __init__(self, flat: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4 * 16 * 16, 3)
        self.flat = flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.conv(x))
        return self.fc(h.flatten(1) if self.flat else h.reshape(x.shape[0], -1))


def test_ablation_cam_runs_the_whole_graph_when_the_tail_reads_a_shape_made_before(images, to_onnx):
    torch.manual_seed(0)
    model = ShapeTail().eval()
    reference = ShapeTail(flat=True).eval()
    reference.load_state_dict(model.state_dict())
    tail, extras, _, _ = OnnxAdapter(to_onnx(model, images), "/relu/Relu_output_0")._tail(
        "/relu/Relu_output_0"
    )
    assert [i.shape for i in tail.get_inputs() if i.name in extras] == [[2]]  # (batch, -1)
    cam = camlens.AblationCAM(onnx.load_from_string(to_onnx(model, images)), "/relu/Relu_output_0")
    got = cam(images)
    assert cam.last_path == "full"
    expected = camlens.AblationCAM(reference, "relu")(images)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def _vit_grid(tokens: torch.Tensor) -> torch.Tensor:
    """A user's reshape_transform: a ViT's (B, 1 + 16, D) tokens as a (B, D, 4, 4) grid."""
    return tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], 4, 4)


@pytest.mark.parametrize("reshape", [None, _vit_grid], ids=["auto", "reshape_transform"])
def test_ablation_cam_on_vit_tokens_gives_the_pytorch_map_from_the_tail(reshape, to_onnx):
    """The tail after a ViT block's LayerNorm reads scalars (a shape's index) and the exporter's
    copies of weights from before the layer: the scalars stay 0-d, the weights are fed as they
    are (not broadcast to the copies), and ``replace`` sees the raw (B, tokens, dim) tensor as
    the PyTorch path's hook does. Before, it raised in both cases."""
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    model = VisionTransformer(
        img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=10
    ).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    layer = "/blocks/blocks.1/norm1/LayerNormalization_output_0"
    expected = camlens.AblationCAM(model, "blocks.1.norm1", reshape).explain(x, [3])
    cam = camlens.AblationCAM(onnx.load_from_string(to_onnx(model, x)), layer, reshape)
    got = cam.explain(x, [3])
    assert cam.last_path == "tail"
    _, extras, _, constants = cam.adapter._tail(layer)
    assert "/blocks/blocks.0/Add_1_output_0" in extras  # the residual: batch-dependent
    assert "/blocks/blocks.0/Add_1_output_0" not in constants
    assert "blocks.1.norm2.weight" in constants  # an Identity of a weight
    raw = expected.raw["blocks.1.norm1"]
    assert raw.shape == (2, 4, 4) and float(raw.amax()) > 0.1
    torch.testing.assert_close(got.raw[layer], raw, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got.maps, expected.maps, atol=1e-4, rtol=0)  # / tiny score drops


def test_an_input_that_does_not_fit_the_graph_is_one_typed_line(onnx_file):
    graph_input = onnx.load(str(onnx_file)).graph.input[0]
    size = graph_input.type.tensor_type.shape.dim[2].dim_value
    with pytest.raises(InvalidInputError) as info:  # was ONNX Runtime's multi-line error
        camlens.EigenCAM(onnx_file, RELU2)(torch.randn(2, 3, size + 4, size + 4))
    assert "\n" not in str(info.value) and f"(any, 3, {size}, {size}) (channels first)" in str(
        info.value
    )


def test_a_graph_onnxruntime_cannot_run_is_one_model_error(cnn, images, to_onnx, tmp_path):
    # before: onnxruntime's raw NotImplemented (no float64 Conv on CPU), also in the CLI
    path = tmp_path / "float64.onnx"
    path.write_bytes(to_onnx(copy.deepcopy(cnn).double(), images.double()))
    with pytest.raises(OnnxModelError) as info:
        camlens.EigenCAM(path, RELU2)(images.double())
    message = str(info.value)
    assert "\n" not in message and "[ONNXRuntimeError]" not in message
    assert "float64.onnx on CPUExecutionProvider" in message and "Conv" in message
    assert exit_code(info.value) == 4


def test_a_tensor_whose_type_shape_inference_cannot_tell_is_taken_as_made(onnx_file, tmp_path):
    # a QOperator graph's contrib ops (QLinearAdd: int8): the extra output was declared float
    # and onnxruntime refused the session with a raw Fail
    quantization = pytest.importorskip("onnxruntime.quantization")

    class Reader(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": torch.rand(4, 3, 16, 16).numpy()}])

        def get_next(self):
            return next(self.batches, None)

    path = tmp_path / "qoperator.onnx"
    quantization.quantize_static(
        onnx_file, path, Reader(), quant_format=quantization.QuantFormat.QOperator
    )
    quantized = next(n.output[0] for n in onnx.load(path).graph.node if n.op_type == "QLinearAdd")
    maps = camlens.EigenCAM(path, quantized)(torch.rand(2, 3, 16, 16))
    assert maps.shape == (2, 16, 16) and float(maps.amax()) == 1.0


class PixelValues(nn.Module):
    """The SkipCNN on uint8 pixel values: ``cnn(x / 255)``, the cast inside the graph."""

    def __init__(self, cnn: nn.Module) -> None:
        super().__init__()
        self.cnn = cnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cnn(x.float() / 255.0)


def test_a_uint8_graph_takes_pixel_values_and_refuses_fractions(cnn, tmp_path):
    # before: the float input was cast with astype: an image in [0, 1] became all zeros, a
    # normalised one wrapped around (-1.0 -> 255), and the maps were wrong with no error
    from camlens.onnx.loading import load_onnx_file

    pixels = (torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(2)) * 255).round()
    path = tmp_path / "uint8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            PixelValues(cnn).eval(), (pixels.to(torch.uint8),), path, input_names=["input"],
            output_names=["logits"], dynamic_axes={"input": {0: "batch"}}, dynamo=False,
        )  # fmt: skip
    layer = "/cnn/relu3/Relu_output_0"
    expected = camlens.EigenCAM(cnn, "relu3")(pixels / 255)
    torch.testing.assert_close(camlens.EigenCAM(path, layer)(pixels), expected, atol=1e-5, rtol=0)
    for wrong in (pixels / 255, (pixels / 255 - 0.45) / 0.225):  # scaled, normalised
        with pytest.raises(InvalidInputError, match="holds fractions") as info:
            camlens.EigenCAM(path, layer)(wrong)
        assert "\n" not in str(info.value)
    with pytest.raises(InvalidInputError, match=r"takes uint8 images \(0..255\).* to 300"):
        camlens.EigenCAM(path, layer)(torch.full((1, 3, 16, 16), 300.0))
    loaded = load_onnx_file(path, torch.device("cpu"), None)  # the CLI's and the server's
    image = loaded.preprocess(Image.fromarray(pixels[0].permute(1, 2, 0).byte().numpy()))
    assert float((image - image.round()).abs().max()) < 1e-3 and float(image.max()) > 200
    assert any("uint8 pixel values" in note for note in loaded.notes)


class FeaturesFirst(nn.Module):
    """The SkipCNN with two outputs: the pooled features ``(B, 8)`` first, the logits second."""

    def __init__(self, cnn: nn.Module) -> None:
        super().__init__()
        self.cnn = cnn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.cnn
        h = c.relu1(c.conv1(x))
        skip = c.relu2(c.conv2(h))
        features = c.pool(c.relu3(c.conv3(skip)) + skip).flatten(1)
        return features, c.fc(features)


def test_a_graph_of_several_outputs_warns_and_output_chooses_the_scores(cnn, images, tmp_path):
    # before: the first output (the features) was scored as logits with no word: targets up to
    # 7 of a 5-class model ran, and the maps were of the features' channels
    path = tmp_path / "two.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            FeaturesFirst(cnn).eval(), (images,), path, input_names=["input"],
            output_names=["features", "logits"], dynamo=False,
            dynamic_axes={"input": {0: "b"}, "features": {0: "b"}, "logits": {0: "b"}},
        )  # fmt: skip
    with pytest.warns(AutoOutputWarning, match="outputs features, logits: camlens scores the"):
        camlens.EigenCAM(path, RELU2)
    model = OnnxModel(path, output="logits")
    torch.testing.assert_close(model(images), cnn(images), atol=1e-5, rtol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutoOutputWarning)  # chosen: no warning
        for name in ("scorecam", "ablationcam"):
            expected = get_method(name)(cnn, "relu2")(images, targets=[1, 4])
            got = get_method(name)(model, RELU2)(images, targets=[1, 4])
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
        with pytest.raises(TargetError, match="out of range"):
            camlens.ScoreCAM(model, RELU2)(images, targets=[7, 7])
        copied = copy.deepcopy(model)
    torch.testing.assert_close(copied(images), cnn(images), atol=1e-5, rtol=0)
    with pytest.raises(TargetError, match="no output 'scores'; its outputs: features, logits"):
        OnnxModel(path, output="scores")
    assert [o.name for o in onnx.load(path).graph.output] == ["features", "logits"]


def test_a_session_whose_file_changed_or_went_is_one_model_error(cnn, images, to_onnx, tmp_path):
    # camlens reads a session's graph back from its file: a file that now holds another graph
    # (other outputs) or is gone says so, instead of explaining the file or "does not exist"
    path = tmp_path / "model.onnx"
    path.write_bytes(to_onnx(cnn, images))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert camlens.EigenCAM(session, RELU2)(images).shape == (2, 16, 16)
    path.write_bytes(
        to_onnx(nn.Sequential(cnn, nn.Softmax(dim=1), nn.Unflatten(1, (5, 1))), images)
    )
    with pytest.raises(OnnxModelError, match="holds another model than this InferenceSession"):
        camlens.EigenCAM(session, RELU2)
    path.unlink()
    with pytest.raises(OnnxModelError, match="which is not there now"):
        camlens.EigenCAM(session, RELU2)
