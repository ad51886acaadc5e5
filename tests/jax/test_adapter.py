"""The JAX / Flax adapter: one small CNN in PyTorch and ported to Flax (linen and NNX) with the same
weights gives the PyTorch path's maps for every gradient CAM, Eigen-CAM and the perturbation
methods (≤ 1e-5); layer paths, input forms, the user's module left as it was, and the typed
errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from superpixel_models import blocks
from torch import nn

jax = pytest.importorskip("jax")
linen = pytest.importorskip("flax.linen")
nnx = pytest.importorskip("flax.nnx")
jnp = pytest.importorskip("jax.numpy")

import camlens  # noqa: E402
from camlens.core.adapters import make_adapter  # noqa: E402
from camlens.errors import (  # noqa: E402
    InvalidInputError,
    LayerNotFoundError,
    TrainingModeError,
    UnsupportedByAdapterError,
)
from camlens.jax import FlaxModel, JaxAdapter  # noqa: E402
from camlens.targets import SoftmaxTarget  # noqa: E402

torch.set_num_threads(1)
TOL = 1e-5


class LinenBlock(linen.Module):
    features: int

    @linen.compact
    def __call__(self, x):
        return linen.relu(linen.Conv(self.features, (3, 3), padding="SAME", name="conv")(x))


class LinenNet(linen.Module):
    """conv(3→4)+ReLU, max-pool 2, conv(4→6)+ReLU, global average pool, dense(6→5)."""

    @linen.compact
    def __call__(self, x):
        x = LinenBlock(4, name="block1")(x)
        x = linen.max_pool(x, (2, 2), (2, 2))
        x = LinenBlock(6, name="block2")(x)
        return linen.Dense(5, name="head")(x.mean(axis=(1, 2)))


class NnxBlock(nnx.Module):
    def __init__(self, cin: int, cout: int, rngs: nnx.Rngs) -> None:
        self.conv = nnx.Conv(cin, cout, (3, 3), padding="SAME", rngs=rngs)

    def __call__(self, x):
        return nnx.relu(self.conv(x))


class NnxNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.block1 = NnxBlock(3, 4, rngs)
        self.block2 = NnxBlock(4, 6, rngs)
        self.head = nnx.Linear(6, 5, rngs=rngs)

    def __call__(self, x):
        x = self.block1(x)
        x = nnx.max_pool(x, (2, 2), (2, 2))
        x = self.block2(x)
        return self.head(x.mean(axis=(1, 2)))


class TorchNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block2 = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(6, 5)

    def forward(self, x):
        return self.head(self.block2(self.pool(self.block1(x))).mean(dim=(2, 3)))


def _conv(kernel, bias) -> tuple[np.ndarray, np.ndarray]:
    """A Flax conv kernel (kh, kw, in, out) as torch's (out, in, kh, kw), writable copies."""
    return np.array(kernel).transpose(3, 2, 0, 1).copy(), np.array(bias)


@pytest.fixture(scope="module")
def models():
    """(linen FlaxModel, NNX module, torch twin, x NHWC (2, 12, 12, 3) float32)."""
    x = np.random.default_rng(0).random((2, 12, 12, 3), dtype=np.float32)
    linen_net = LinenNet()
    variables = linen_net.init(jax.random.PRNGKey(0), x)
    nnx_net = NnxNet(nnx.Rngs(0))
    params = variables["params"]
    for name in ("block1", "block2"):  # the NNX port takes the linen weights
        getattr(nnx_net, name).conv.kernel[...] = params[name]["conv"]["kernel"]
        getattr(nnx_net, name).conv.bias[...] = params[name]["conv"]["bias"]
    nnx_net.head.kernel[...] = params["head"]["kernel"]
    nnx_net.head.bias[...] = params["head"]["bias"]
    twin = TorchNet()
    with torch.no_grad():
        for name in ("block1", "block2"):
            kernel, bias = _conv(params[name]["conv"]["kernel"], params[name]["conv"]["bias"])
            getattr(twin, name)[0].weight.copy_(torch.from_numpy(kernel))
            getattr(twin, name)[0].bias.copy_(torch.from_numpy(bias))
        twin.head.weight.copy_(torch.from_numpy(np.array(params["head"]["kernel"]).T.copy()))
        twin.head.bias.copy_(torch.from_numpy(np.array(params["head"]["bias"])))
    return FlaxModel(linen_net, variables), nnx_net, twin.eval(), x


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def test_capture_matches_torch(models):
    """Logits, activations (channels first) and gradients of one capture equal the twin's."""
    flax_model, nnx_net, twin, x = models
    expected = make_adapter(twin, "block2").capture(nchw(x), [[1, 3]])
    for model in (flax_model, nnx_net):
        adapter = make_adapter(model, "block2")
        assert isinstance(adapter, JaxAdapter)
        got = adapter.capture(x, [[1, 3]])
        torch.testing.assert_close(got.outputs, expected.outputs, atol=TOL, rtol=0)
        torch.testing.assert_close(got.activations[0], expected.activations[0], atol=TOL, rtol=0)
        torch.testing.assert_close(got.gradients[0][0], expected.gradients[0][0], atol=TOL, rtol=0)
        assert got.activations[0].shape == (2, 6, 6, 6) and got.layer_names == ["block2"]


GRADIENT_CAMS = [
    camlens.GradCAM,
    camlens.GradCAMPlusPlus,
    camlens.XGradCAM,
    camlens.HiResCAM,
    camlens.LayerCAM,
    camlens.EigenCAM,
    camlens.EigenGradCAM,
    camlens.GradCAMElementWise,
]
PERTURBATION = [camlens.ScoreCAM, camlens.AblationCAM]


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("method", GRADIENT_CAMS + PERTURBATION, ids=lambda m: m.__name__)
def test_maps_match_torch(models, method, api):
    flax_model, nnx_net, twin, x = models
    model = flax_model if api == "linen" else nnx_net
    got = method(model, "block2")(x, targets=[1, 3])
    expected = method(twin, "block2")(nchw(x), targets=[1, 3])
    assert got.shape == (2, 12, 12) and got.dtype == torch.float32
    assert float(expected.amax()) == 1.0  # not a degenerate all-zero map
    torch.testing.assert_close(got, expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("method", [camlens.LIME, camlens.KernelSHAP], ids=lambda m: m.__name__)
def test_superpixel_methods_match_torch(models, method):
    flax_model, _, twin, x = models
    options = {"segments": blocks(12, 12, 2, 3), "n_samples": 40, "seed": 1}
    got = method(flax_model, **options).explain(x, [1, 3])
    expected = method(twin, **options).explain(nchw(x), [1, 3])
    for g, e in zip(got.weights, expected.weights, strict=True):
        torch.testing.assert_close(g, e, atol=TOL, rtol=0)
    torch.testing.assert_close(got.maps, expected.maps, atol=TOL, rtol=0)


def test_several_layers_topk_explain_and_torch_input(models):
    flax_model, _, twin, x = models
    got = camlens.GradCAM(flax_model, ["block1", "block2"]).topk(nchw(x), k=2)
    expected = camlens.GradCAM(twin, ["block1", "block2"]).topk(nchw(x), k=2)
    assert torch.equal(got.indices, expected.indices)
    torch.testing.assert_close(got.maps, expected.maps, atol=TOL, rtol=0)
    names = ["gradcam", "hirescam", "eigencam", "lime"]
    kwargs = {"targets": 2}
    ours = camlens.explain(flax_model, x, names, "block2", **kwargs)
    theirs = camlens.explain(twin, nchw(x), names, "block2", **kwargs)
    for name in names:
        torch.testing.assert_close(ours[name].maps, theirs[name].maps, atol=TOL, rtol=0)


def test_fused_class_targets_equal_the_general_path(models):
    """Class indices, ranks and None take the fused program; any other target (a callable) the
    two-program path: the same maps, and the same as the twin for a softmax target."""
    flax_model, _, twin, x = models
    cam = camlens.GradCAM(flax_model, "block2")
    fused = cam(x, targets=[1, 3])
    general = cam(x, targets=[lambda out: out[1], lambda out: out[3]])
    torch.testing.assert_close(fused, general, atol=TOL, rtol=0)
    top = cam.explain(x)
    best = top.outputs.argmax(1).tolist()
    assert [t.category for t in top.targets] == best
    torch.testing.assert_close(top.maps, cam(x, targets=best), atol=TOL, rtol=0)
    soft = cam(x, targets=camlens.SoftmaxTarget(2))
    expected = camlens.GradCAM(twin, "block2")(nchw(x), targets=camlens.SoftmaxTarget(2))
    torch.testing.assert_close(soft, expected, atol=TOL, rtol=0)
    with pytest.raises(camlens.TargetError, match="out of range"):
        cam(x, targets=7)


def test_paths_auto_layer_and_module_objects(models):
    flax_model, nnx_net, _, x = models
    assert camlens.jax.layer_names(flax_model, x) == [
        "block1.conv", "block1", "block2.conv", "block2", "head",
    ]  # fmt: skip
    expected = camlens.GradCAM(flax_model, "block2")(x)
    for spec in ("block2.conv", "block2/conv", ["block2.conv"]):
        conv = camlens.GradCAM(flax_model, spec)(x)
        assert conv.shape == (2, 12, 12)
    with pytest.warns(camlens.AutoLayerWarning, match="'block2'"):
        auto = camlens.GradCAM(flax_model)(x)
    torch.testing.assert_close(auto, expected)
    by_object = camlens.GradCAM(nnx_net, nnx_net.block2)(x)
    torch.testing.assert_close(by_object, camlens.GradCAM(nnx_net, "block2")(x))


def test_users_module_and_variables_untouched(models):
    flax_model, nnx_net, _, x = models
    before = jax.tree_util.tree_map(np.array, flax_model.variables)
    state_before = jax.tree_util.tree_map(np.array, nnx.state(nnx_net))
    camlens.GradCAM(flax_model, "block2")(x)
    camlens.AblationCAM(nnx_net, "block2")(x)
    after = jax.tree_util.tree_map(np.array, flax_model.variables)
    jax.tree_util.tree_map(np.testing.assert_array_equal, before, after)
    jax.tree_util.tree_map(np.testing.assert_array_equal, state_before, nnx.state(nnx_net))
    assert type(nnx_net.block2) is NnxBlock  # the tap lived on a copy only


def test_bad_input(models):
    flax_model, nnx_net, _, x = models
    with pytest.raises(LayerNotFoundError, match=r"no submodule 'blok2'.*Close matches: block2"):
        camlens.GradCAM(flax_model, "blok2")(x)
    with pytest.raises(LayerNotFoundError, match="Close matches: block2"):
        camlens.GradCAM(nnx_net, "block2.convv")  # NNX: at construction
    with pytest.raises(InvalidInputError, match=r"FlaxModel\(module, variables\)"):
        camlens.GradCAM(LinenNet(), "block2")
    with pytest.raises(InvalidInputError, match="without variables"):
        FlaxModel(nnx_net, {"params": {}})
    with pytest.raises(UnsupportedByAdapterError, match="differentiable"):
        camlens.GradCAM(flax_model, "block2", differentiable=True)(x)
    with pytest.raises(InvalidInputError, match="x\\[None\\]"):
        camlens.GradCAM(flax_model, "block2")(x[0, 0])
    for make in (
        lambda: camlens.FullGrad(flax_model),
        lambda: camlens.CAM(flax_model, "block2"),
        lambda: camlens.Saliency(flax_model),
    ):
        with pytest.raises(UnsupportedByAdapterError, match=r"docs/models/jax\.md"):
            make()


@pytest.mark.parametrize(
    ("method", "options"),
    [
        (camlens.RISEMap, {"n_masks": 64, "batch_size": 16, "seed": 3}),
        (camlens.OcclusionMap, {"patch_size": 4, "stride": 2, "batch_size": 16}),
    ],
    ids=["rise", "occlusion"],
)
def test_black_box_maps_match_torch(models, method, options):
    # RISE (same seed, so the same masks) and occlusion on the Flax port give the PyTorch
    # twin's maps: the model runs through the JAX adapter's predict, the rest is shared
    flax_model, _, twin, x = models
    got = method(flax_model, **options)(x, targets=[1, 3])
    expected = method(twin, **options)(nchw(x), targets=[1, 3])
    assert got.shape == (2, 12, 12) and float(expected.amax()) == 1.0
    assert float(expected.std()) > 0.05  # a map with structure, not a constant
    torch.testing.assert_close(got, expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("api", ["linen", "nnx"])
def test_ablation_cam_with_a_users_reshape_transform_equals_the_automatic_one(models, api):
    """With a ``reshape_transform`` the ablated copies are made in Flax's (B, h, w, C) layout and
    the channels found through the transform: the maps are the automatic reshape's."""
    flax_model, nnx_net, twin, x = models
    model = flax_model if api == "linen" else nnx_net
    auto = camlens.AblationCAM(model, "block2").explain(x, [1, 3])
    cam = camlens.AblationCAM(model, "block2", reshape_transform=lambda t: t.permute(0, 3, 1, 2))
    got = cam.explain(x, [1, 3])
    assert cam.last_path == "tail" and float(auto.raw["block2"].amax()) > 0
    torch.testing.assert_close(got.raw["block2"], auto.raw["block2"], atol=1e-6, rtol=0)
    expected = camlens.AblationCAM(twin, "block2")(nchw(x), targets=[1, 3])
    torch.testing.assert_close(got.maps, expected, atol=TOL, rtol=0)


class ScoresDict(linen.Module):
    """The linen net's scores under a key camlens does not read."""

    @linen.compact
    def __call__(self, x):
        return {"scores": LinenNet(name="net")(x)}


class LinenTraining(linen.Module):
    """conv, batch norm (statistics updated when ``train``), dropout, dense."""

    @linen.compact
    def __call__(self, x, train: bool = False):
        x = LinenBlock(4, name="block")(x)
        x = linen.BatchNorm(use_running_average=not train, name="bn")(x)
        x = linen.Dropout(0.5, deterministic=not train)(x)
        return linen.Dense(5, name="head")(x.mean(axis=(1, 2)))


class NnxDropout(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.block = NnxBlock(3, 4, rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)
        self.head = nnx.Linear(4, 5, rngs=rngs)

    def __call__(self, x):
        return self.head(self.drop(self.block(x)).mean(axis=(1, 2)))


def test_what_flax_raises_is_a_camlens_error(models):
    # before: flax's and torch's raw errors (ScopeParamShapeError, ModifyScopeVariableError,
    # InvalidRngError, TraceContextError, AttributeError 'dict' has no 'ndim')
    flax_model, _, _, x = models
    with pytest.raises(
        InvalidInputError, match=r"do not fit an input of shape \(1, 12, 3, 12\) \(channels last"
    ):
        camlens.GradCAM(flax_model, "block2")(torch.from_numpy(x))  # NHWC given as torch
    scores = ScoresDict()
    dict_model = FlaxModel(scores, scores.init(jax.random.PRNGKey(0), x))
    for method in (camlens.GradCAM, camlens.ScoreCAM):
        with pytest.raises(camlens.TargetError, match="returned dict; camlens needs a tensor"):
            method(dict_model, "net.block2")(x, targets=1)
    net = LinenTraining()
    variables = net.init(jax.random.PRNGKey(0), x)
    training = FlaxModel(net, variables, apply_kwargs={"train": True})
    for method in (camlens.GradCAM, camlens.EigenCAM):
        with pytest.raises(TrainingModeError, match=r"apply_kwargs=\{'train': False\}") as info:
            method(training, "block")(x)
        assert "\n" not in str(info.value) and "https://" not in str(info.value)
    evaluating = FlaxModel(net, variables, apply_kwargs={"train": False})
    assert camlens.GradCAM(evaluating, "block")(x).shape == (2, 12, 12)


def test_an_nnx_module_in_training_mode_warns_and_its_gradients_refuse(models):
    *_, x = models
    module = NnxDropout(nnx.Rngs(0))  # NNX modules start in training mode
    with pytest.warns(camlens.TrainingModeWarning, match=r"module\.eval\(\)"):
        lime = camlens.LIME(module, segments=blocks(12, 12, 2, 2), n_samples=8, seed=0)
    with pytest.warns(camlens.TrainingModeWarning):
        gradcam = camlens.GradCAM(module, "block")
    with pytest.raises(TrainingModeError, match=r"module\.eval\(\)"):
        gradcam(x)
    module.eval()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", camlens.TrainingModeWarning)
        maps = camlens.LIME(module, segments=blocks(12, 12, 2, 2), n_samples=8, seed=0)(x)
        assert maps.shape == (2, 12, 12)
        assert camlens.GradCAM(module, "block")(x).shape == (2, 12, 12)
    del lime, gradcam


class Bf16Net(linen.Module):
    """The linen net computing in bfloat16 (its params float32)."""

    @linen.compact
    def __call__(self, x):
        x = linen.relu(linen.Conv(4, (3, 3), padding="SAME", dtype=jnp.bfloat16, name="conv")(x))
        return linen.Dense(5, dtype=jnp.bfloat16, name="head")(x.mean(axis=(1, 2)))


def test_bfloat16_inputs_and_computation_run(models):
    # before: a bf16 input was "not floating point"; a bf16-computing model's softmax target and
    # Ablation-CAM raised torch's "unsupported ScalarType BFloat16" (converting to JAX)
    *_, x = models
    net = Bf16Net()
    variables = net.init(jax.random.PRNGKey(0), x)
    half = FlaxModel(net, variables)
    target = SoftmaxTarget(1)
    for method in (camlens.GradCAM, camlens.AblationCAM):
        maps = method(half, "conv")(x, targets=target)
        same = method(half, "conv")(jnp.asarray(x, dtype=jnp.bfloat16), targets=target)
        assert maps.shape == (2, 12, 12) and bool(torch.isfinite(maps).all())
        torch.testing.assert_close(same, maps, atol=2e-2, rtol=0)  # the input rounded to bf16
    with pytest.raises(LayerNotFoundError, match="no submodule 3 in"):
        camlens.GradCAM(half, 3)(x)
