"""Guided backpropagation: by hand on Linear-ReLU-Linear, against captum's GuidedBackprop (whole
batch) and pytorch-grad-cam's GuidedBackpropReLUModel (first image) on torchvision models.

Hand: x = (1, 2), W1 x + b1 = (-1, 3, 1.5), ReLU mask (0, 1, 1).
class 0: g = W2[0] = (1, -2, 3); ReLU(g)·mask = (0, 0, 3); W1ᵀ(0, 0, 3) = (-3, 3).
class 1: g = W2[1] = (-1, 1, 1); ReLU(g)·mask = (0, 1, 1); W1ᵀ(0, 1, 1) = (1, 2).
(The plain gradient of class 0 would be W1ᵀ(0, -2, 3) = (-7, 1).)
"""

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from camlens.pixel.guided_backprop import GuidedBackprop

W1 = torch.tensor([[1.0, -1.0], [2.0, 1.0], [-1.0, 1.0]])
B1 = torch.tensor([0.0, -1.0, 0.5])
W2 = torch.tensor([[1.0, -2.0, 3.0], [-1.0, 1.0, 1.0]])


def two_layer(functional: bool) -> nn.Module:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.relu = nn.Linear(2, 3), nn.Linear(3, 2), nn.ReLU()
            with torch.no_grad():
                self.fc1.weight.copy_(W1), self.fc1.bias.copy_(B1)
                self.fc2.weight.copy_(W2), self.fc2.bias.fill_(0.3)

        def forward(self, x):  # x: (B, 2, 1, 1)
            h = self.fc1(x.flatten(1))
            return self.fc2(F.relu(h) if functional else self.relu(h))

    return Net().eval()


@pytest.mark.parametrize("functional", [False, True])
def test_guided_backprop_hand_computed(functional):
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0]]).view(2, 2, 1, 1)
    out = GuidedBackprop(two_layer(functional))(x, [0, 1])
    torch.testing.assert_close(out.flatten(1), torch.tensor([[-3.0, 3.0], [1.0, 2.0]]))


torchvision = pytest.importorskip("torchvision")
# nn.ReLU modules only (what captum and pytorch-grad-cam can see): in-place ones after batch-norm
# and residual sums (resnet18), max-pools, concatenations and a ReLU'd classifier (squeezenet)
ZOO = {"resnet18": torchvision.models.resnet18, "squeezenet1_1": torchvision.models.squeezenet1_1}


@pytest.mark.parametrize("name", list(ZOO))
def test_guided_backprop_matches_captum_and_pytorch_grad_cam(name):
    captum = pytest.importorskip("captum.attr")
    pgc = pytest.importorskip("pytorch_grad_cam")
    torch.manual_seed(0)
    model = ZOO[name]().eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = GuidedBackprop(model)(x, [3, 7])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = captum.GuidedBackprop(copy.deepcopy(model)).attribute(x, target=[3, 7])
    scale = ours.abs().max()
    assert scale > 0
    torch.testing.assert_close(ours / scale, theirs / scale, rtol=0, atol=1e-6)
    first = pgc.GuidedBackpropReLUModel(copy.deepcopy(model), device="cpu")(x[:1].clone(), 3)
    torch.testing.assert_close(ours[0].permute(1, 2, 0) / scale, torch.from_numpy(first) / scale)


def test_functional_relu_is_guided_where_module_hooks_miss_it():
    """torchvision's DenseNet applies F.relu after its features: captum's module hooks miss that
    ReLU; camlens guides it, so it equals captum on the same net written with an nn.ReLU."""
    captum = pytest.importorskip("captum.attr")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3))
    head = nn.Linear(4, 3)

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.head = net, head

        def forward(self, x):
            return self.head(F.relu(self.net(x)).mean(dim=(2, 3)))

    class Module(Functional):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.head(self.relu(self.net(x)).mean(dim=(2, 3)))

    x = torch.randn(2, 3, 8, 8)
    ours = GuidedBackprop(Functional().eval())(x, [0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = captum.GuidedBackprop(Module().eval()).attribute(x, target=[0, 2])
        missed = captum.GuidedBackprop(Functional().eval()).attribute(x, target=[0, 2])
    torch.testing.assert_close(ours, reference)
    assert not torch.allclose(ours, missed)
