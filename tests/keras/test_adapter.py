"""The Keras adapter (TensorFlow backend): parity with the PyTorch path on a twin CNN with the
same weights, layer resolution (names, objects, nested and sequential models), input forms,
the methods that run on Keras, and the typed errors for bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("these tests run Keras on the TensorFlow backend", allow_module_level=True)

import camlens  # noqa: E402
from camlens.core.adapters import is_keras_model, require_torch_model  # noqa: E402
from camlens.keras import KerasSupportError  # noqa: E402

torch.set_num_threads(1)
try:  # the machine is shared: one TensorFlow thread (only possible before TF starts its runtime)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:
    pass
layers = keras.layers
TOL = 1e-4  # float32 in both frameworks: observed differences are ~1e-6


@pytest.fixture(scope="module")
def twins():
    """(flat Keras model, nested Keras model, Sequential model, torch twin, x NHWC numpy).

    conv(3→4)+ReLU, max-pool 2, conv(4→6)+ReLU, global average pooling, dense(6→5); the Keras
    head ends in softmax (scored before it), the torch one returns logits. The three Keras
    models share their layers (and so their weights).
    """
    keras.utils.set_random_seed(0)
    conv1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")
    pool = layers.MaxPooling2D(2, name="pool")
    conv2 = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2")
    gap = layers.GlobalAveragePooling2D(name="gap")
    head = layers.Dense(5, activation="softmax", name="head")
    inp = keras.Input((12, 12, 3))
    flat = keras.Model(inp, head(gap(conv2(pool(conv1(inp))))), name="flat")
    features = keras.Sequential([keras.Input((12, 12, 3)), conv1, pool, conv2], name="features")
    inp2 = keras.Input((12, 12, 3))
    nested = keras.Model(inp2, head(gap(features(inp2))), name="nested")
    sequential = keras.Sequential([keras.Input((12, 12, 3)), conv1, pool, conv2, gap, head])

    twin = nn.Sequential()
    twin.add_module("conv1", nn.Conv2d(3, 4, 3, padding=1))
    twin.add_module("relu1", nn.ReLU())
    twin.add_module("pool", nn.MaxPool2d(2))
    twin.add_module("conv2", nn.Conv2d(4, 6, 3, padding=1))
    twin.add_module("relu2", nn.ReLU())
    twin.add_module("gap", nn.AdaptiveAvgPool2d(1))
    twin.add_module("flatten", nn.Flatten())
    twin.add_module("fc", nn.Linear(6, 5))
    with torch.no_grad():
        for name in ("conv1", "conv2"):
            kernel, bias = (v.numpy() for v in flat.get_layer(name).weights)
            getattr(twin, name).weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
            getattr(twin, name).bias.copy_(torch.from_numpy(bias))
        kernel, bias = (v.numpy() for v in head.weights)
        twin.fc.weight.copy_(torch.from_numpy(kernel.T))
        twin.fc.bias.copy_(torch.from_numpy(bias))
    x = np.random.default_rng(0).random((2, 12, 12, 3), dtype=np.float32)
    return flat, nested, sequential, twin.eval(), x


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


# --- parity with the PyTorch path ---------------------------------------------------------------
def test_capture_matches_torch(twins):
    """Activations, gradients and logits of one capture equal the torch twin's."""
    flat, _, _, twin, x = twins
    cam = camlens.GradCAM(flat, "conv2")
    assert isinstance(cam.adapter, camlens.keras.KerasAdapter)
    assert is_keras_model(flat) and not is_keras_model(twin)
    keras_cap = cam.adapter.capture(x, [[1, 3]])
    torch_cap = camlens.GradCAM(twin, "relu2").adapter.capture(nchw(x), [[1, 3]])
    assert keras_cap.inputs.shape == (2, 3, 12, 12)
    assert keras_cap.activations[0].shape == (2, 6, 6, 6)
    close = torch.testing.assert_close
    close(keras_cap.outputs, torch_cap.outputs, atol=1e-5, rtol=0)
    close(keras_cap.activations[0], torch_cap.activations[0], atol=1e-5, rtol=0)
    close(keras_cap.gradients[0][0], torch_cap.gradients[0][0], atol=1e-6, rtol=0)
    close(keras_cap.scores[0], torch_cap.scores[0], atol=1e-5, rtol=0)


def test_softmax_scored_before_it_and_model_untouched(twins):
    flat, _, _, _, x = twins
    explanation = camlens.GradCAM(flat, "conv2").explain(x)
    probabilities = flat(x, training=False).numpy()
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)  # still a softmax model
    np.testing.assert_allclose(
        torch.softmax(explanation.outputs, 1).numpy(), probabilities, atol=1e-6
    )
    assert "call" not in vars(flat.get_layer("head"))  # the interception is gone


PARITY = [
    camlens.GradCAM,
    camlens.GradCAMPlusPlus,
    camlens.ScoreCAM,
    camlens.XGradCAM,
    camlens.HiResCAM,
    camlens.GradCAMElementWise,
    camlens.LayerCAM,
    camlens.EigenCAM,
    camlens.EigenGradCAM,
    camlens.AblationCAM,
    camlens.ISCAM,
    camlens.FEM,
    camlens.KPCACAM,
    camlens.SegEigenCAM,
]


@pytest.mark.parametrize("method", PARITY, ids=lambda m: m.__name__)
def test_maps_match_torch(twins, method):
    """The same maps as the PyTorch path on the twin (float32, ≤ 1e-4)."""
    flat, _, _, twin, x = twins
    keras_maps = method(flat, "conv2")(x, targets=[1, 3])
    torch_maps = method(twin, "relu2")(nchw(x), targets=[1, 3])
    assert keras_maps.shape == (2, 12, 12) and keras_maps.dtype == torch.float32
    assert float(torch_maps.amax()) == 1.0  # not a degenerate all-zero map
    torch.testing.assert_close(keras_maps, torch_maps, atol=TOL, rtol=0)


def test_softmax_inside_a_nested_head_is_undone(twins):
    """The output layer is found inside a nested model; Activation("softmax") gives its input."""
    flat, _, _, _, x = twins
    dense = layers.Dense(5, name="logits")
    dense.build((None, 6))
    dense.set_weights(flat.get_layer("head").get_weights())
    head = keras.Sequential([keras.Input((6,)), dense, layers.Activation("softmax")], name="cls")
    inp = keras.Input((12, 12, 3))
    features = flat.get_layer("gap")(
        flat.get_layer("conv2")(flat.get_layer("pool")(flat.get_layer("conv1")(inp)))
    )
    model = keras.Model(inp, head(features))
    expected = camlens.GradCAM(flat, "conv2").explain(x)
    explanation = camlens.GradCAM(model, "conv2").explain(x)
    torch.testing.assert_close(explanation.outputs, expected.outputs, atol=1e-6, rtol=0)
    torch.testing.assert_close(explanation.maps, expected.maps, atol=1e-6, rtol=0)


def test_several_layers_and_topk_match_torch(twins):
    flat, _, _, twin, x = twins
    keras_cam = camlens.GradCAM(flat, ["conv1", "conv2"])
    torch_cam = camlens.GradCAM(twin, ["relu1", "relu2"])
    torch.testing.assert_close(keras_cam(x), torch_cam(nchw(x)), atol=TOL, rtol=0)
    k, t = keras_cam.topk(x, k=2), torch_cam.topk(nchw(x), k=2)
    assert torch.equal(k.indices, t.indices)
    torch.testing.assert_close(k.maps, t.maps, atol=TOL, rtol=0)


def test_aug_smooth_matches_torch_for_nhwc_and_torch_input(twins):
    flat, _, _, twin, x = twins
    torch_maps = camlens.GradCAM(twin, "relu2")(nchw(x), aug_smooth=True)
    for inputs in (x, camlens.keras.as_torch(x)):
        keras_maps = camlens.GradCAM(flat, "conv2")(inputs, aug_smooth=True)
        torch.testing.assert_close(keras_maps, torch_maps, atol=TOL, rtol=0)


RUN_ONLY = [camlens.SSCAM, camlens.RandomCAM, camlens.RefineCAM, camlens.FinerCAM]
OWN_PIPELINE = [camlens.SobelCAM, camlens.SmoothGradCAMPlusPlus, camlens.SESS]


@pytest.mark.parametrize("method", RUN_ONLY + OWN_PIPELINE, ids=lambda m: m.__name__)
def test_other_methods_run(twins, method):
    """Methods without a twin comparison still give (B, H, W) maps in [0, 1] from NHWC input."""
    flat, _, _, _, x = twins
    maps = method(flat, "conv2")(x, targets=[1, 3])
    assert maps.shape == (2, 12, 12)
    assert bool(torch.isfinite(maps).all()) and 0 <= float(maps.min()) <= float(maps.max()) <= 1


def test_explain_several_methods(twins):
    flat, _, _, twin, x = twins
    names = ["gradcam", "gradcam++", "scorecam"]
    keras_maps = camlens.explain(flat, x, names, "conv2", targets=[1, 3])
    torch_maps = camlens.explain(twin, nchw(x), names, "relu2", targets=[1, 3])
    for name in names:
        torch.testing.assert_close(keras_maps[name].maps, torch_maps[name].maps, atol=TOL, rtol=0)


# --- models, layers, inputs ---------------------------------------------------------------------
def test_nested_sequential_and_layer_objects_agree(twins):
    flat, nested, sequential, _, x = twins
    expected = camlens.GradCAM(flat, "conv2")(x, targets=2)
    conv2 = flat.get_layer("conv2")
    for model, spec in [
        (nested, "features/conv2"),
        (nested, "features.conv2"),
        (nested, "conv2"),
        (nested, conv2),
        (sequential, "conv2"),
        (sequential, conv2),
    ]:
        cam = camlens.GradCAM(model, spec)
        torch.testing.assert_close(cam(x, targets=2), expected, atol=1e-6, rtol=0)
    assert camlens.GradCAM(nested, "conv2").adapter.layer_names == ["features/conv2"]
    assert "features/conv2" in camlens.keras.layer_names(nested)


def test_name_in_two_nested_models_asks_for_the_path():
    def block(name: str) -> keras.Model:
        return keras.Sequential(
            [keras.Input((8, 8, 2)), layers.Conv2D(2, 3, padding="same", name="conv")], name=name
        )

    inp = keras.Input((8, 8, 2))
    out = layers.Dense(2)(layers.GlobalAveragePooling2D()(block("b")(block("a")(inp))))
    model = keras.Model(inp, out)
    with pytest.raises(camlens.LayerNotFoundError, match="a/conv, b/conv"):
        camlens.GradCAM(model, "conv")
    assert camlens.GradCAM(model, "b/conv")(np.ones((1, 8, 8, 2), np.float32)).shape == (1, 8, 8)


def test_whole_nested_model_as_target_layer(twins):
    flat, nested, _, _, x = twins
    expected = camlens.GradCAM(flat, "conv2")(x)
    torch.testing.assert_close(camlens.GradCAM(nested, "features")(x), expected, atol=1e-6, rtol=0)


def test_input_forms_agree(twins):
    flat, _, _, _, x = twins
    cam = camlens.GradCAM(flat, "conv2")
    expected = cam(x)
    torch.testing.assert_close(cam(tf.constant(x)), expected)
    torch.testing.assert_close(cam(camlens.keras.as_torch(x)), expected)
    torch.testing.assert_close(cam(x.astype(np.float64)), expected, atol=1e-6, rtol=0)


def test_auto_layer_skips_pooling(twins):
    flat, _, _, _, x = twins
    with pytest.warns(camlens.AutoLayerWarning, match="conv2"):
        maps = camlens.GradCAM(flat)(x)
    torch.testing.assert_close(maps, camlens.GradCAM(flat, "conv2")(x))
    inp = keras.Input((8, 8, 3))
    conv = layers.Conv2D(2, 3, padding="same", name="conv")(inp)
    pooled = layers.MaxPooling2D(2, name="pool")(conv)  # 4×4: spatial, but a pooling layer
    model = keras.Model(inp, layers.Dense(2)(layers.Flatten()(pooled)))
    cam = camlens.GradCAM(model)
    with pytest.warns(camlens.AutoLayerWarning, match="'conv'"):
        cam(np.ones((1, 8, 8, 3), np.float32))
    assert cam.adapter.layer_names == ["conv"]


def test_ablation_tail_equals_full_path_and_score_cam_chunks(twins):
    flat, _, _, _, x = twins
    tail = camlens.AblationCAM(flat, "conv2")
    maps = tail(x)
    assert tail.last_path == "tail"
    torch.testing.assert_close(camlens.AblationCAM(flat, "conv2", tail=False)(x), maps)
    whole = camlens.ScoreCAM(flat, "conv2")(x)
    torch.testing.assert_close(camlens.ScoreCAM(flat, "conv2", batch_size=5)(x), whole)
    x1 = camlens.keras.as_torch(x)[:1]
    whole_cost = tail.adapter.forward_cost(x1)
    conv2 = flat.get_layer("conv2")
    # conv1: 3 + 2·4 channels at 12×12 (float32) is the largest layer call; after conv2 only the
    # pooling (6 + 2·6 values) and the head remain.
    assert whole_cost == (3 + 2 * 4) * 144 * 4
    assert tail.adapter.forward_cost(x1, start=conv2) == (6 * 36 + 2 * 6) * 4


# --- bad inputs -------------------------------------------------------------------------------
def test_unknown_layer_lists_close_matches(twins):
    flat, nested, _, _, _ = twins
    with pytest.raises(camlens.LayerNotFoundError, match="Close matches: conv2"):
        camlens.GradCAM(flat, "conv_2")
    with pytest.raises(camlens.LayerNotFoundError, match="not a layer of model"):
        camlens.GradCAM(flat, layers.Conv2D(1, 1))
    with pytest.raises(camlens.LayerNotFoundError, match="features/conv1"):
        camlens.GradCAM(nested, "features/conv_1")


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((12, 12, 3), np.float32), "add the batch dimension"),
        (np.zeros((2, 12, 12, 3), np.uint8), "floating point"),
        (np.full((1, 12, 12, 3), np.nan, np.float32), "NaN"),
        ("image.png", "numpy array or tf.Tensor"),
    ],
)
def test_bad_input(twins, bad, match):
    with pytest.raises(camlens.InvalidInputError, match=match):
        camlens.GradCAM(twins[0], "conv2")(bad)


def test_layer_off_the_scored_path():
    inp = keras.Input((8, 8, 3))
    trunk = layers.Conv2D(2, 3, padding="same", name="trunk")(inp)
    side = layers.Conv2D(2, 1, name="side")(trunk)  # a second output, not the scored one
    head = layers.Dense(3, name="head")(layers.GlobalAveragePooling2D()(trunk))
    model = keras.Model(inp, [head, side])
    x = np.ones((1, 8, 8, 3), np.float32)
    assert camlens.GradCAM(model, "trunk")(x).shape == (1, 8, 8)
    with pytest.raises(camlens.LayerNotReachedError, match="does not depend on layer 'side'"):
        camlens.GradCAM(model, "side")(x)


class _Unused(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.conv = layers.Conv2D(2, 3, padding="same", name="conv")
        self.unused = layers.Conv2D(2, 3, padding="same", name="unused")
        self.gap = layers.GlobalAveragePooling2D()
        self.fc = layers.Dense(3)

    def call(self, x):
        return self.fc(self.gap(self.conv(x)))


@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer:UserWarning")
def test_layer_never_run_and_shared_layer():
    x = np.ones((1, 8, 8, 3), np.float32)
    model = _Unused()
    model(x)
    assert camlens.GradCAM(model, "conv")(x).shape == (1, 8, 8)  # a subclassed model works
    with pytest.raises(camlens.LayerNotReachedError, match="never ran layer 'unused'"):
        camlens.GradCAM(model, "unused")(x)
    inp = keras.Input((8, 8, 3))
    shared = layers.Conv2D(3, 3, padding="same", name="shared")
    out = layers.Dense(2)(layers.GlobalAveragePooling2D()(shared(shared(inp))))
    with pytest.raises(camlens.LayerOutputError, match="ran 2 times"):
        camlens.GradCAM(keras.Model(inp, out), "shared")(x)


class _Boom(layers.Layer):
    def compute_output_shape(self, shape):
        return shape

    def call(self, x):
        raise RuntimeError("boom")


def test_call_wrapping_is_undone_after_an_error():
    inp = keras.Input((8, 8, 3))
    conv = layers.Conv2D(2, 3, padding="same", name="conv")
    boom = _Boom(name="boom")
    model = keras.Model(inp, layers.Dense(2, activation="softmax")(boom(conv(inp))))
    with pytest.raises(RuntimeError, match="boom"):
        camlens.GradCAM(model, "conv")(np.ones((1, 8, 8, 3), np.float32))
    assert "call" not in vars(conv) and "call" not in vars(model.layers[-1])


def test_pytorch_only_features_raise(twins):
    flat, _, _, _, x = twins
    with pytest.raises(KerasSupportError, match="differentiable"):
        camlens.GradCAM(flat, "conv2", differentiable=True)(x)
    with pytest.raises(KerasSupportError, match="FullGrad needs a PyTorch model"):
        require_torch_model(flat, "FullGrad")
    require_torch_model(nn.Linear(1, 1), "FullGrad")  # a torch model passes
    for make in (
        lambda: camlens.CAM(flat, "conv2"),
        lambda: camlens.FullGrad(flat, "conv2"),
        lambda: camlens.ShapleyCAM(flat, "conv2"),
        lambda: camlens.DeepFeatureFactorization(flat, "conv2"),
        lambda: camlens.Saliency(flat),
        lambda: camlens.GuidedBackprop(flat),
    ):
        with pytest.raises(KerasSupportError, match="needs a PyTorch model"):
            make()
    # the black-box methods need the model's scores only: they run through the Keras adapter
    assert camlens.RISEMap(flat, n_masks=8, seed=0)(x).shape[0] == x.shape[0]
    assert camlens.OcclusionMap(flat, patch_size=8, stride=8)(x).shape[0] == x.shape[0]


def test_to_torch_keeps_a_scalar_a_scalar():
    from camlens.keras.convert import to_torch

    # np.ascontiguousarray, used before, returned shape (1,) for a 0-d array
    assert to_torch(tf.constant(2.5)).shape == ()
    transposed = to_torch(np.arange(6, dtype=np.float32).reshape(2, 3).T)
    assert transposed.is_contiguous() and transposed.tolist() == [[0, 3], [1, 4], [2, 5]]
