"""SmoothGrad by hand with the same noise, and against captum's NoiseTunnel(Saliency).

Model: score_k = Σ W[k] ⊙ ReLU(x), so the gradient at a noisy copy x + ε is W[k] ⊙ 1[x + ε > 0]
and SmoothGrad's expectation is W[k] ⊙ Φ(x / σ) (Φ the standard normal CDF).
"""

import math

import pytest
import torch
from torch import nn

from camlens.pixel.guided_backprop import GuidedBackprop
from camlens.pixel.saliency import Saliency
from camlens.pixel.smoothgrad import SmoothGrad


class ReluSum(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return torch.einsum("bchw,kchw->bk", torch.relu(x), self.weight)


def make(batch=2):
    g = torch.Generator().manual_seed(0)
    model = ReluSum(torch.randn(3, 2, 3, 3, generator=g)).eval()
    return model, torch.randn(batch, 2, 3, 3, generator=g)


@pytest.mark.parametrize("squared", [False, True])
def test_smoothgrad_by_hand_with_the_same_noise(squared):
    model, x = make()
    n, level, seed = 7, 0.2, 11
    out = SmoothGrad(model, n, level, squared=squared, batch_size=4, seed=seed)(x, [2, 0])
    sigma = level * (x.flatten(1).amax(1) - x.flatten(1).amin(1))
    generator = torch.Generator().manual_seed(seed)
    expected = torch.zeros_like(x)
    for _ in range(n):  # one (B, C, H, W) draw per sample, in order
        noisy = x + torch.randn(x.shape, generator=generator) * sigma.view(2, 1, 1, 1)
        grad = torch.stack([model.weight[2], model.weight[0]]).detach() * (noisy > 0)
        expected += grad.square() if squared else grad
    torch.testing.assert_close(out, expected / n)


def test_absolute_stdev_and_wrapped_method():
    model, x = make()
    guided = SmoothGrad(GuidedBackprop(model), 5, stdev=0.3, seed=1)(x, 1)
    plain = SmoothGrad(Saliency(model), 5, noise_level=123.0, stdev=0.3, seed=1)(x, 1)
    # guided: ReLU(W) ⊙ 1[x + ε > 0], plain: W ⊙ 1[x + ε > 0], same noise
    torch.testing.assert_close(guided, torch.where(model.weight[1] > 0, plain, 0).detach())
    assert not torch.equal(plain, SmoothGrad(model, 5, stdev=0.3, seed=2)(x, 1))


def test_matches_captum_noise_tunnel_statistics():
    captum = pytest.importorskip("captum.attr")
    model, x = make(batch=1)
    n, sigma = 400, 0.8
    ours = SmoothGrad(model, n, stdev=sigma, batch_size=400)(x, 1)
    torch.manual_seed(0)
    theirs = captum.NoiseTunnel(captum.Saliency(model)).attribute(
        x, nt_type="smoothgrad", nt_samples=n, stdevs=sigma, target=1, abs=False
    )
    q = 0.5 * (1 + torch.erf(x / (sigma * math.sqrt(2))))  # P(x + ε > 0)
    w = model.weight[1].detach()
    expectation = w * q
    stderr = w.abs() * (q * (1 - q)).sqrt() / math.sqrt(n)
    assert torch.all((ours - expectation).abs() <= 5 * stderr + 1e-6)
    assert torch.all((theirs - expectation).abs() <= 5 * stderr + 1e-6)
    assert torch.all((ours - theirs).abs() <= 5 * math.sqrt(2) * stderr + 1e-6)


def test_rejects_bad_arguments():
    model, _ = make()
    with pytest.raises(TypeError):
        SmoothGrad(lambda x: x)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        SmoothGrad(model, 0)
