"""The scoped ReLU override: every way of calling ReLU gets the rule, only during the block.

Hand-computed on a two-layer network h = ReLU(W1 x + b1), y = W2 h with x = (1, 2):
W1 x + b1 = (-1, 3, 1.5), so the ReLU mask is (0, 1, 1); class 0 sends g = W2[0] = (1, -2, 3) back.

    ordinary:  g · mask         = (0, -2, 3) -> W1ᵀ(0, -2, 3) = (-7, 1)
    guided:    ReLU(g) · mask   = (0,  0, 3) -> W1ᵀ(0,  0, 3) = (-3, 3)
    deconvnet: ReLU(g)          = (1,  0, 3) -> W1ᵀ(1,  0, 3) = (-2, 2)
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from camlens.pixel._relu_override import ReLUOverride, relu_rule

W1 = torch.tensor([[1.0, -1.0], [2.0, 1.0], [-1.0, 1.0]])
B1 = torch.tensor([0.0, -1.0, 0.5])
W2 = torch.tensor([[1.0, -2.0, 3.0], [-1.0, 1.0, 1.0]])
X = torch.tensor([[1.0, 2.0]])
EXPECTED = {None: [-7.0, 1.0], "guided": [-3.0, 3.0], "deconvnet": [-2.0, 2.0]}

STYLES = {
    "nn.ReLU": lambda m, h: m.relu(h),
    "nn.ReLU(inplace)": lambda m, h: m.relu_inplace(h),
    "F.relu": lambda m, h: F.relu(h),
    "F.relu(inplace)": lambda m, h: F.relu(h, inplace=True),
    "F.relu(h, True)": lambda m, h: F.relu(h, True),
    "F.relu_": lambda m, h: F.relu_(h),
    "torch.relu": lambda m, h: torch.relu(h),
    "torch.relu_": lambda m, h: torch.relu_(h),
    "Tensor.relu": lambda m, h: h.relu(),
    "Tensor.relu_": lambda m, h: h.relu_(),
}


class TwoLayer(nn.Module):
    def __init__(self, style: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.fc2 = nn.Linear(3, 2, bias=False)
        self.relu = nn.ReLU()
        self.relu_inplace = nn.ReLU(inplace=True)
        self.style = style
        with torch.no_grad():
            self.fc1.weight.copy_(W1)
            self.fc1.bias.copy_(B1)
            self.fc2.weight.copy_(W2)

    def forward(self, x):
        return self.fc2(STYLES[self.style](self, self.fc1(x)))


def input_grad(model, rule):
    x = X.clone().requires_grad_(True)
    with relu_rule(rule):
        y = model(x)
    return torch.autograd.grad(y[0, 0], x)[0][0]


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("rule", [None, "guided", "deconvnet"])
def test_every_relu_call_gets_the_rule(style, rule):
    grad = input_grad(TwoLayer(style), rule)
    torch.testing.assert_close(grad, torch.tensor(EXPECTED[rule]))


def test_forward_values_unchanged_and_calls_counted():
    model = TwoLayer("F.relu")
    with ReLUOverride("guided") as mode:
        y = model(X)
    torch.testing.assert_close(y, model(X))
    assert mode.calls == 1


def test_override_ends_with_the_block_even_on_error():
    model = TwoLayer("F.relu")
    with pytest.raises(RuntimeError, match="boom"), relu_rule("guided"):  # noqa: PT012 (the body raises)
        model(X)
        raise RuntimeError("boom")
    # ordinary gradients again, for every style
    for style in STYLES:
        torch.testing.assert_close(input_grad(TwoLayer(style), None), torch.tensor(EXPECTED[None]))


def test_unknown_rule():
    with pytest.raises(ValueError, match="rule"):
        ReLUOverride("zeiler")
