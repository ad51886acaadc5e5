"""The capture engine: gradients to the activations only, hooks always removed, model unchanged."""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision
from tiny_models import SmallCNN
from torch import nn

import camlens
from camlens.core.contract import check_input
from camlens.core.torch_adapter import graph_mode, warn_if_training


class CountingForward(nn.Module):
    """Wrap a model and count its forward calls."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.model(x)


def _hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def test_parameter_grads_untouched_and_no_hook_left_after_100_calls(small_cnn, images):
    sentinel = {name: torch.full_like(p, 7.0) for name, p in small_cnn.named_parameters()}
    for name, p in small_cnn.named_parameters():
        p.grad = sentinel[name].clone()
    bad_calls = [
        lambda cam: cam(images, targets=[camlens.ClassTarget(10)]),  # class out of range
        lambda cam: cam(images, targets=[0, 1]),  # 2 targets for 4 images
        lambda cam: cam(torch.full_like(images, float("nan"))),
        lambda cam: cam(images, targets=[lambda out: out]),  # not a scalar per image
    ]
    cam = camlens.GradCAM(small_cnn, ["conv2", "conv3"])
    raised = 0
    for i in range(100):
        if i % 4 == 3:
            with pytest.raises(camlens.CamlensError):
                bad_calls[(i // 4) % len(bad_calls)](cam)
            raised += 1
        else:
            cam(images, targets=[i % 10])
    assert raised == 25
    assert _hook_count(small_cnn) == 0
    for name, p in small_cnn.named_parameters():
        assert p.requires_grad, name
        assert torch.equal(p.grad, sentinel[name]), name


def test_no_parameter_gradient_is_ever_computed(small_cnn, images):
    seen = []
    for p in small_cnn.parameters():
        p.register_hook(lambda g: seen.append(g))
    camlens.GradCAM(small_cnn, "conv3")(images)
    assert seen == [] and all(p.grad is None for p in small_cnn.parameters())


def test_model_left_as_it_was(small_cnn, images):
    state = {k: v.clone() for k, v in small_cnn.state_dict().items()}
    modules = list(small_cnn.modules())
    small_cnn.conv1.weight.requires_grad_(False)  # a partly frozen model stays partly frozen
    camlens.GradCAM(small_cnn, "conv3")(images)
    assert not small_cnn.training
    assert list(small_cnn.modules()) == modules
    assert all(torch.equal(state[k], v) for k, v in small_cnn.state_dict().items())
    assert not small_cnn.conv1.weight.requires_grad
    assert small_cnn.conv2.weight.requires_grad


def test_works_inside_no_grad_and_inference_mode(small_cnn, images):
    cam = camlens.GradCAM(small_cnn, "conv3")
    reference = cam(images)
    with torch.no_grad():
        torch.testing.assert_close(cam(images), reference)
    with torch.inference_mode():
        inference_images = images.clone()
        torch.testing.assert_close(cam(inference_images), reference)


def test_frozen_model_gives_the_same_maps(small_cnn, images):
    reference = camlens.GradCAM(small_cnn, "conv3")(images)
    small_cnn.requires_grad_(False)
    torch.testing.assert_close(camlens.GradCAM(small_cnn, "conv3")(images), reference)
    assert not any(p.requires_grad for p in small_cnn.parameters())


def test_input_that_requires_grad(small_cnn, images):
    reference = camlens.GradCAM(small_cnn, "conv3")(images)
    x = images.clone().requires_grad_(True)
    torch.testing.assert_close(camlens.GradCAM(small_cnn, "conv3")(x), reference)
    assert x.grad is None


@pytest.mark.parametrize("method", ["gradcam", "hirescam", "layercam", "gradcam++"])
def test_inplace_relu_after_the_layer_does_not_change_the_map(method, images):
    torch.manual_seed(0)
    inplace = SmallCNN(inplace=True).eval()
    plain = SmallCNN(inplace=False).eval()
    plain.load_state_dict(inplace.state_dict())
    cls = camlens.get_method(method)
    a = cls(inplace, "conv2").explain(images, targets=[3])
    b = cls(plain, "conv2").explain(images, targets=[3])
    torch.testing.assert_close(a.raw["conv2"], b.raw["conv2"])
    torch.testing.assert_close(a.outputs, b.outputs)
    # and the recorded activation is the conv output (it has negative values), not the ReLU's
    ref = plain.conv2(plain.relu1(plain.conv1(images)))
    hires = camlens.HiResCAM(inplace, "conv2").explain(images, targets=[3])
    assert (ref < 0).any()
    grads = torch.autograd.functional.vjp(
        lambda a: plain.fc(plain.pool(plain.relu3(plain.conv3(plain.relu2(a)))).flatten(1))[:, 3],
        ref,
        torch.ones(4),
    )[1]
    torch.testing.assert_close(hires.raw["conv2"], torch.relu((grads * ref).sum(1)))


def test_several_layers_share_one_forward(small_cnn, images):
    counted = CountingForward(small_cnn)
    e = camlens.GradCAM(counted, ["model.conv1", "model.conv2", "model.conv3"]).explain(images)
    assert counted.calls == 1
    assert list(e.per_layer) == ["model.conv1", "model.conv2", "model.conv3"]
    for name in ["conv1", "conv2", "conv3"]:
        alone = camlens.GradCAM(small_cnn, name).explain(images)
        torch.testing.assert_close(e.raw["model." + name], alone.raw[name])
        torch.testing.assert_close(e.per_layer["model." + name], alone.maps)
    fused = torch.stack(list(e.per_layer.values())).mean(0)
    lo = fused.flatten(1).min(1).values[:, None, None]
    hi = fused.flatten(1).max(1).values[:, None, None]
    torch.testing.assert_close(e.maps, (fused - lo) / (hi - lo))


def test_topk_shares_one_forward_and_matches_single_calls(small_cnn, images):
    counted = CountingForward(small_cnn)
    cam = camlens.GradCAM(counted, "model.conv3")
    top = cam.topk(images, k=3)
    assert counted.calls == 1
    logits = small_cnn(images)
    expected = logits.topk(3, dim=1)
    assert torch.equal(top.indices, expected.indices)
    torch.testing.assert_close(top.scores, expected.values)
    torch.testing.assert_close(top.probabilities, torch.softmax(logits, 1).gather(1, top.indices))
    for r in range(3):
        single = camlens.GradCAM(small_cnn, "conv3")(images, targets=top.indices[:, r].tolist())
        torch.testing.assert_close(top.maps[:, r], single)


def test_output_shape_dtype_range_device(small_cnn, images):
    maps = camlens.GradCAM(small_cnn, "conv3")(images)
    assert maps.shape == (4, 16, 16) and maps.dtype == torch.float32
    assert maps.device == images.device
    assert float(maps.min()) >= 0 and float(maps.max()) <= 1
    assert torch.allclose(maps.flatten(1).max(1).values, torch.ones(4))


def test_data_parallel_wrapped_model(small_cnn, images):
    wrapped = nn.DataParallel(small_cnn)
    reference = camlens.GradCAM(small_cnn, "conv3")(images)
    torch.testing.assert_close(camlens.GradCAM(wrapped, "conv3")(images), reference)
    torch.testing.assert_close(camlens.GradCAM(wrapped, "module.conv3")(images), reference)
    assert camlens.GradCAM(wrapped, "conv3")(images).shape[0] == 4


def test_differentiable_maps_feed_a_training_loss(small_cnn, images):
    cam = camlens.GradCAM(small_cnn, "conv3", differentiable=True)
    maps = cam(images, targets=[2])
    assert maps.requires_grad
    loss = maps[:, :8].mean()  # e.g. "do not look at the top half"
    loss.backward()
    assert small_cnn.conv3.weight.grad is not None
    assert small_cnn.conv3.weight.grad.abs().sum() > 0


def test_real_torchvision_model_and_eval_mode_untouched():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    maps = camlens.GradCAM(model, "layer4")(x, targets=[1, 2])
    assert maps.shape == (2, 64, 64) and torch.isfinite(maps).all()


# --- clear errors ------------------------------------------------------------------------------


def test_unknown_layer_lists_close_matches(small_cnn):
    with pytest.raises(camlens.LayerNotFoundError, match="conv3"):
        camlens.GradCAM(small_cnn, "conv_3")


def test_layer_not_in_the_model(small_cnn):
    with pytest.raises(camlens.LayerNotFoundError, match="not a submodule"):
        camlens.GradCAM(small_cnn, nn.Conv2d(1, 1, 1))


def test_layer_never_reached(images):
    model = SmallCNN()
    model.unused = nn.Conv2d(3, 3, 1)
    model.eval()
    with pytest.raises(camlens.LayerNotReachedError, match="never ran layer 'unused'"):
        camlens.GradCAM(model, "unused")(images)


def test_layer_output_not_a_tensor(images):
    class TupleLayer(nn.Module):
        def forward(self, x):
            return x, x

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.pair = TupleLayer()
            self.net = SmallCNN()

        def forward(self, x):
            return self.net(self.pair(x)[0])

    with pytest.raises(camlens.LayerOutputError, match="returned tuple"):
        camlens.GradCAM(Model().eval(), "pair")(images)


def test_layer_run_twice_is_ambiguous(images):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(self.conv(self.conv(x)).mean((2, 3)))

    with pytest.raises(camlens.LayerOutputError, match="ran 2 times"):
        camlens.GradCAM(Twice().eval(), "conv")(images)


def test_target_out_of_range(small_cnn, images):
    with pytest.raises(camlens.TargetError, match=r"out of range .* 10 classes"):
        camlens.GradCAM(small_cnn, "conv3")(images, targets=[camlens.ClassTarget(10)])


def test_wrong_number_of_targets(small_cnn, images):
    with pytest.raises(camlens.TargetError, match="got 3 targets for a batch of 4"):
        camlens.GradCAM(small_cnn, "conv3")(images, targets=[1, 2, 3])


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_or_inf_input(small_cnn, images, value):
    images[0, 0, 0, 0] = value
    with pytest.raises(camlens.InvalidInputError, match="NaN or inf"):
        camlens.GradCAM(small_cnn, "conv3")(images)


def test_large_finite_input_is_not_taken_for_inf(small_cnn, images):
    # The finite check sums the input first; a sum that overflows falls back to the exact check.
    big = torch.full_like(images, 3e37)
    assert not torch.isfinite(big.sum())
    camlens.GradCAM(small_cnn, "conv3")(big)
    half = torch.ones(1, 3, 300, 300, dtype=torch.float16)  # sums past float16's 65504
    assert check_input(half) is half
    half[0, 1, 2, 3] = float("nan")
    with pytest.raises(camlens.InvalidInputError, match="NaN or inf"):
        check_input(half)


def test_training_mode_of_a_shared_or_cyclic_submodule_is_seen(images):
    leaf = nn.Dropout(0.5)
    model = nn.Sequential(nn.Flatten(), leaf, nn.Sequential(leaf))
    model.eval()
    model[2].loop = model  # a module registered below itself: modules() must still end
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_training(model)
    leaf.train()
    with pytest.warns(camlens.TrainingModeWarning):
        warn_if_training(model)


def test_a_capture_without_gradients_leaves_the_parameters_alone(small_cnn):
    with graph_mode(small_cnn, track=False):
        assert all(p.requires_grad for p in small_cnn.parameters())
        assert not torch.is_grad_enabled()
    with graph_mode(small_cnn, track=True):
        assert not any(p.requires_grad for p in small_cnn.parameters())
    assert all(p.requires_grad for p in small_cnn.parameters())


def test_input_without_batch_dimension_or_wrong_type(small_cnn, images):
    with pytest.raises(camlens.InvalidInputError, match="unsqueeze"):
        camlens.GradCAM(small_cnn, "conv3")(images[0, 0])
    with pytest.raises(camlens.InvalidInputError, match=r"torch.Tensor"):
        camlens.GradCAM(small_cnn, "conv3")(images.numpy())
    with pytest.raises(camlens.InvalidInputError, match="floating"):
        camlens.GradCAM(small_cnn, "conv3")(images.to(torch.uint8))


def test_training_mode_warns_and_is_left_on(small_cnn, images):
    small_cnn.train()
    with pytest.warns(camlens.TrainingModeWarning, match="eval"):
        camlens.GradCAM(small_cnn, "conv3")(images)
    assert small_cnn.training


def test_eval_mode_does_not_warn(small_cnn, images):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        camlens.GradCAM(small_cnn, "conv3")(images)


def test_layer_off_the_path_to_the_score(images):
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3)
            self.b = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            self.b(x)  # computed, not used
            return self.fc(self.a(x).mean((2, 3)))

    with pytest.raises(camlens.LayerNotReachedError, match="does not depend on layer 'b'"):
        camlens.GradCAM(TwoHeads().eval(), ["a", "b"])(images)


def test_a_wrapper_in_training_mode_around_an_eval_model_does_not_warn(small_cnn, images):
    wrapper = nn.Sequential(small_cnn)  # new modules start in training mode
    assert wrapper.training
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        camlens.GradCAM(wrapper, "0.conv3")(images)


def test_gradient_free_methods_also_record_the_output_before_an_inplace_op(images):
    torch.manual_seed(0)
    inplace = SmallCNN(inplace=True).eval()
    plain = SmallCNN(inplace=False).eval()
    plain.load_state_dict(inplace.state_dict())
    a = camlens.EigenCAM(inplace, "conv3").explain(images).raw["conv3"]
    torch.testing.assert_close(a, camlens.EigenCAM(plain, "conv3").explain(images).raw["conv3"])
