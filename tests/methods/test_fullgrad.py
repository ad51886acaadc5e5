"""FullGrad: the decomposition and the map by hand, completeness, the authors' post-processing,
and pytorch-grad-cam's numbers.

By hand: z = conv1x1(x) = 2x − 1, y = Σ v ⊙ ReLU(z) + 0.5 with v = [[1, 2], [3, 4]] and
x = [[1, 0], [2, 0.25]]: z = [[1, −1], [3, −0.5]], active at (0, 0) and (1, 0), y = 1 + 9 + 0.5.
    ∂y/∂x = 2 v 1[z > 0] = [[2, 0], [6, 0]]     input term ∂y/∂x ⊙ x = [[2, 0], [12, 0]]
    ∂y/∂z = v 1[z > 0]   = [[1, 0], [3, 0]]     conv bias term ∂y/∂z ⊙ (−1) = [[−1, 0], [−3, 0]]
    linear bias term 0.5;    total 14 − 4 + 0.5 = 10.5 = y   (completeness)
Map: ψ(input) = [[1/6, 0], [1, 0]], ψ(conv) = [[1/3, 0], [1, 0]], sum [[.5, 0], [2, 0]] ->
normalised [[0.25, 0], [1, 0]].
"""

import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import camlens
from camlens.methods.fullgrad import FullGrad


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)
        self.fc = nn.Linear(4, 1)
        with torch.no_grad():
            self.conv.weight.fill_(2.0), self.conv.bias.fill_(-1.0)
            self.fc.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0]])), self.fc.bias.fill_(0.5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


X_TINY = torch.tensor([[[[1.0, 0.0], [2.0, 0.25]]]])


def test_decomposition_by_hand():
    d = FullGrad(Tiny().eval()).decompose(X_TINY, 0)
    torch.testing.assert_close(d.input_gradient[0, 0], torch.tensor([[2.0, 0.0], [6.0, 0.0]]))
    torch.testing.assert_close(d.input_term[0, 0], torch.tensor([[2.0, 0.0], [12.0, 0.0]]))
    assert set(d.bias_terms) == {"conv", "fc"}
    torch.testing.assert_close(d.bias_terms["conv"][0, 0], torch.tensor([[-1.0, 0.0], [-3.0, 0.0]]))
    torch.testing.assert_close(d.bias_terms["fc"], torch.tensor([[0.5]]))
    torch.testing.assert_close(d.scores, torch.tensor([10.5]))
    torch.testing.assert_close(d.total(), torch.tensor([10.5]))


@pytest.mark.parametrize("postprocess", ["paper", "pytorch-grad-cam"])
def test_map_by_hand(postprocess):
    e = FullGrad(Tiny().eval(), postprocess=postprocess).explain(X_TINY, 0)
    assert set(e.raw) == {"input", "conv"}  # linear layers are not spatial: not in the map
    torch.testing.assert_close(e.raw["conv"][0], torch.tensor([[1 / 3, 0.0], [1.0, 0.0]]))
    torch.testing.assert_close(e.maps[0], torch.tensor([[0.25, 0.0], [1.0, 0.0]]))


class BiasNet(nn.Module):
    """Conv+BN+in-place ReLU, max-pool, a convolution run twice, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)
        for bn in (self.bn1, self.bn2):
            bn.running_mean.copy_(torch.randn(4, generator=g))
            bn.running_var.copy_(torch.rand(4, generator=g) + 0.5)
            bn.weight.data.copy_(torch.rand(4, generator=g) + 0.5)
            bn.bias.data.copy_(torch.randn(4, generator=g))

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.relu(self.conv2(x))
        x = self.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean(dim=(2, 3)))


@pytest.fixture
def bias_net():
    torch.manual_seed(0)
    return BiasNet().eval()


@pytest.fixture
def x():
    return torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def test_completeness(bias_net, x):
    d = FullGrad(bias_net).decompose(x, [0, 2, 4])
    assert list(d.bias_terms) == ["conv1", "bn1", "conv2", "conv2#1", "bn2", "fc"]
    torch.testing.assert_close(d.total(), d.scores, rtol=1e-5, atol=1e-5)


def authors_fullgrad(model, x, classes):
    """The authors' saliency (fullgrad-saliency, saliency/fullgrad.py), with the bias gradients
    taken w.r.t. zero probes added to each conv / batch-norm output (another mechanism)."""
    probes, biases = [], []

    def hook(module, inputs, output):
        probe = torch.zeros_like(output, requires_grad=True)
        probes.append(probe)
        if isinstance(module, nn.BatchNorm2d):
            scale = module.weight / torch.sqrt(module.running_var + module.eps)
            biases.append((module.bias - module.running_mean * scale).detach())
        else:
            biases.append(module.bias.detach())
        return output + probe

    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.BatchNorm2d)]
    handles = [m.register_forward_hook(hook) for m in layers]
    image = x.clone().requires_grad_(True)
    out = model(image)
    handles = [h.remove() for h in handles]
    score = out[torch.arange(len(classes)), classes].sum()
    input_grad, *grads = torch.autograd.grad(score, [image, *probes])

    def post(t, eps=1e-6):
        t = t.abs()
        flat = t.flatten(1)
        t = t - flat.min(1).values.view(-1, 1, 1, 1)
        return t / (t.flatten(1).max(1).values.view(-1, 1, 1, 1) + eps)

    cam = post(input_grad * x).sum(1, keepdim=True)
    for g, b in zip(grads, biases, strict=True):
        temp = post(g * b.view(1, -1, 1, 1))
        cam += F.interpolate(temp, size=x.shape[2:], mode="bilinear", align_corners=True).sum(
            1, keepdim=True
        )
    return cam[:, 0].detach()


def test_paper_postprocessing_is_the_authors(bias_net, x):
    e = FullGrad(bias_net).explain(x, [0, 2, 4])
    expected = camlens.core.postprocess.normalize(authors_fullgrad(bias_net, x, [0, 2, 4]))
    torch.testing.assert_close(e.maps, expected, rtol=1e-5, atol=1e-5)
    assert set(e.raw) == {"input", "conv1", "bn1", "conv2", "conv2#1", "bn2"}
    assert e.raw["bn2"].shape == (3, 4, 4) and e.per_layer["bn2"].shape == (3, 8, 8)


@pytest.fixture(scope="module")
def resnet():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():  # non-zero effective biases (fresh BN: mean 0, var 1, bias 0)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model


@pytest.mark.parametrize("eigen_smooth", [False, True])
def test_matches_pytorch_grad_cam(resnet, eigen_smooth):
    pgc = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    theirs = pgc.FullGrad(copy.deepcopy(resnet), [])(
        x.clone(), [ClassifierOutputTarget(c) for c in (3, 7)], eigen_smooth=eigen_smooth
    )
    ours = FullGrad(resnet, postprocess="pytorch-grad-cam")(x, [3, 7], eigen_smooth=eigen_smooth)
    ours = ours.numpy()
    for i in range(2):
        diff = np.abs(ours[i] - theirs[i]).max()
        if eigen_smooth:  # the projection's sign: pgc keeps LAPACK's, camlens picks one
            diff = min(diff, np.abs(ours[i] - (1 - theirs[i])).max())
        assert diff <= 1e-4


def test_completeness_on_resnet(resnet):
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    d = FullGrad(resnet).decompose(x)
    torch.testing.assert_close(d.total(), d.scores, rtol=1e-4, atol=1e-4)


def test_model_left_untouched_and_target_layers_ignored(bias_net, x):
    def state(model):
        return [
            (n, type(m), m.training, len(m._forward_hooks), len(m._backward_hooks))
            for n, m in model.named_modules()
        ] + [(n, p.requires_grad, p.grad) for n, p in model.named_parameters()]

    before = state(bias_net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FullGrad(bias_net, [])(x)
        FullGrad(bias_net)(x)
    with pytest.warns(UserWarning, match="ignored"):
        cam = FullGrad(bias_net, ["conv2"])
    cam(x)
    assert state(bias_net) == before


def test_topk_shares_one_forward_and_equals_single_calls(bias_net, x):
    cam = FullGrad(bias_net)
    top = cam.topk(x, k=2)
    torch.testing.assert_close(top.indices, bias_net(x).topk(2).indices)
    for r in range(2):
        torch.testing.assert_close(top.maps[:, r], cam(x, top.indices[:, r]))


def test_aug_smooth_and_differentiable(bias_net, x):
    maps = FullGrad(bias_net)(x, 1, aug_smooth=True)
    assert maps.shape == (3, 8, 8) and maps.min() >= 0 and maps.max() <= 1
    leaf = x.clone().requires_grad_(True)
    maps = FullGrad(bias_net, differentiable=True)(leaf, 1)
    (grad,) = torch.autograd.grad(maps.sum(), leaf)
    assert grad.shape == x.shape and torch.isfinite(grad).all()
    assert all(p.grad is None for p in bias_net.parameters())


def test_inference_tensor_input(bias_net, x):
    expected = FullGrad(bias_net)(x, 1)
    with torch.inference_mode():
        xi = x.clone()
        torch.testing.assert_close(FullGrad(bias_net)(xi, 1), expected)
    torch.testing.assert_close(FullGrad(bias_net)(xi, 1), expected)


def test_training_mode_warns(x):
    net = BiasNet().train()
    with pytest.warns(camlens.TrainingModeWarning):
        FullGrad(net)(x, 0)
    assert net.training
