"""The pixel-space base: targets as in the CAM classes, and the model left exactly as it was."""

import pytest
import torch
from torch import nn

import camlens
from camlens.pixel import (
    RISE,
    Deconvolution,
    GuidedBackprop,
    GuidedGradCAM,
    Occlusion,
    PixelAttribution,
    Saliency,
    SmoothGrad,
)


class Net(nn.Module):
    """Conv -> in-place ReLU -> F.relu -> pool -> linear: 4 classes, score = w_c · features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        h = self.conv2(self.relu(self.conv(x)))
        return self.fc(torch.nn.functional.relu(h).mean(dim=(2, 3)))


METHODS = {
    "saliency": lambda m: Saliency(m),
    "deconvolution": lambda m: Deconvolution(m),
    "guided": lambda m: GuidedBackprop(m),
    "guided_gradcam": lambda m: GuidedGradCAM(m, "conv2"),
    "occlusion": lambda m: Occlusion(m, 4, 2, batch_size=7),
    "rise": lambda m: RISE(m, 6, 2, batch_size=5),
    "smoothgrad": lambda m: SmoothGrad(GuidedBackprop(m), 3, batch_size=4),
}


def state(model: nn.Module) -> list:
    return [
        (
            name,
            type(m),
            m.training,
            len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks),
            len(m._backward_pre_hooks),
        )
        for name, m in model.named_modules()
    ] + [(name, p.requires_grad, p.grad) for name, p in model.named_parameters()]


@pytest.fixture
def net():
    return Net().eval()


@pytest.fixture
def x():
    return torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("name", list(METHODS))
def test_shape_device_dtype_and_model_untouched(name, net, x):
    before = state(net)
    weights = [p.detach().clone() for p in net.parameters()]
    method = METHODS[name](net)
    out = method(x, targets=[0, 1, 2])
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert torch.isfinite(out).all()
    assert state(net) == before
    assert all(torch.equal(w, p) for w, p in zip(weights, net.parameters(), strict=True))
    assert not x.requires_grad and x.grad is None


@pytest.mark.parametrize("name", list(METHODS))
def test_targets_like_the_cam_classes(name, net, x):
    method = METHODS[name](net)
    top = net(x).argmax(1).tolist()
    default = method.explain(x)
    assert [t.category for t in default.targets] == top
    torch.testing.assert_close(default.attributions, method(x, top))
    torch.testing.assert_close(method(x, 1), method(x, [camlens.ClassTarget(1)] * 3))
    # any callable per-image output -> scalar
    torch.testing.assert_close(method(x, lambda out: out[1]), method(x, 1))
    torch.testing.assert_close(default.scores, net(x).gather(1, torch.tensor(top)[:, None])[:, 0])
    with pytest.raises(camlens.TargetError):
        method(x, [0, 1])


@pytest.mark.parametrize("name", ["saliency", "guided", "occlusion", "rise"])
def test_batched_equals_one_by_one(name, net, x):
    method = METHODS[name](net)
    batched = method(x, [0, 1, 2])
    single = torch.cat([method(x[i : i + 1], [i]) for i in range(3)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(METHODS))
def test_inference_tensor_input_and_inference_mode(name, net, x):
    method = METHODS[name](net)
    expected = method(x, 0)
    with torch.inference_mode():
        xi = x.clone()
        torch.testing.assert_close(method(xi, 0), expected)
    torch.testing.assert_close(method(xi, 0), expected)  # an inference tensor, outside the mode


def test_error_inside_forward_restores_everything(net, x):
    class Broken(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            self.inner(x)
            raise RuntimeError("boom")

    broken = Broken(net)
    before = state(broken)
    with pytest.raises(RuntimeError, match="boom"):
        GuidedBackprop(broken)(x, 0)
    assert state(broken) == before
    # no override left behind: plain gradients are plain again
    saliency = Saliency(net)(x, 0)
    leaf = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(net(leaf)[:, 0].sum(), leaf)
    torch.testing.assert_close(saliency, expected)


def test_input_not_reaching_the_score(x):
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(4))

        def forward(self, x):
            return self.bias.expand(x.shape[0], 4) + x.detach().sum() * 0

    with pytest.raises(camlens.CamlensError, match="do not depend on the input"):
        Saliency(Constant().eval())(x, 0)


def test_training_mode_warns(x):
    net = Net().train()
    with pytest.warns(camlens.TrainingModeWarning):
        Saliency(net)(x, 0)
    assert net.training


def test_rejects_non_models_and_bad_inputs(net):
    with pytest.raises(TypeError):
        Saliency(lambda x: x)
    with pytest.raises(camlens.InvalidInputError):
        Saliency(net)(torch.zeros(8, 8), 0)
    with pytest.raises(camlens.InvalidInputError):
        Occlusion(net, 4, 2)(torch.zeros(1, 3, 8), 0)
    with pytest.raises(NotImplementedError):
        PixelAttribution(net)(torch.zeros(1, 3, 8, 8))
