"""The explanation losses against hand-computed values, gradcheck and bad masks."""

from __future__ import annotations

import pytest
import torch
from tiny_models import A, G, Readout
from torch import nn
from torch.func import functional_call

from camlens.core.errors import InvalidInputError, MaskError
from camlens.training import (
    CAMEnergyLoss,
    RRRLoss,
    cam_energy_penalty,
    energy_share,
    rrr_penalty,
)
from camlens.training.cam_energy import _cam


def test_rrr_penalty_of_linear_softmax_model_equals_closed_form():
    # z = W x + b, ŷ = softmax(z): ∂/∂x Σ_k log ŷ_k = Σ_k W_k − K Σ_j ŷ_j W_j = Wᵀ(1 − K ŷ)
    torch.manual_seed(0)
    b, c, h, w, k = 3, 2, 4, 4, 5
    model = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, k)).double()
    x = torch.randn(b, c, h, w, dtype=torch.float64)
    mask = torch.rand(b, h, w, dtype=torch.float64) > 0.5
    weight = model[1].weight  # (K, D)
    probs = torch.softmax(model(x), dim=-1)  # (B, K)
    grad = ((1 - k * probs) @ weight).view(b, c, h, w)
    expected = ((mask[:, None] * grad) ** 2).sum() / b
    got = rrr_penalty(model, x, mask)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    # summed over images as in the paper
    torch.testing.assert_close(
        rrr_penalty(model, x, mask, reduction="sum"), expected * b, rtol=1e-12, atol=1e-12
    )


def test_rrr_loss_is_cross_entropy_plus_weighted_penalty_and_trains_the_mask_away():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    x = torch.randn(6, 2, 4, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    mask = torch.zeros(6, 4, 4, dtype=torch.bool)
    mask[:, 0, :] = True
    loss_fn = RRRLoss(model, right_reasons=5.0)
    loss = loss_fn(x, y, mask)
    ce = nn.functional.cross_entropy(model(x), y)
    torch.testing.assert_close(loss, ce + 5.0 * rrr_penalty(model, x, mask))
    assert loss_fn.last["reasons"] > 0
    # gradient steps on the penalty alone drive the masked input gradients to zero
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    first = float(rrr_penalty(model, x, mask).detach())
    for _ in range(100):
        opt.zero_grad()
        rrr_penalty(model, x, mask).backward()
        opt.step()
    assert float(rrr_penalty(model, x, mask).detach()) < 0.01 * first


def test_energy_share_by_hand():
    maps = torch.tensor([[[1.0, 1.5], [2.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    share = energy_share(maps, mask)
    torch.testing.assert_close(share, torch.tensor([1 / 6.5, 0.0]))  # a zero map shares nothing
    torch.testing.assert_close(energy_share(maps, mask, "outside"), torch.tensor([5.5 / 6.5, 0.0]))


def test_cam_energy_penalty_on_readout_equals_hand_computed_gradcam_share():
    # Readout: A = x, ∂y^0/∂A = G -> α = (0.5, 0.5),
    # map = ReLU(0.5 A0 + 0.5 A1) = [[1, 1.5], [2, 2]]
    model = Readout(torch.stack([G, -G])).eval()
    x = A[None].clone()
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    cam = _cam(model, "features", "gradcam")
    share, logits = cam_energy_penalty(cam, x, torch.tensor([0]), mask)
    torch.testing.assert_close(share, torch.tensor([1 / 6.5]))
    torch.testing.assert_close(logits, model(x))
    # LayerCAM: Σ_k ReLU(G_k) ⊙ A_k = [[1, 0], [0, 4]] + [[0, 0], [2, 0]] = [[1, 0], [2, 4]]
    cam = _cam(model, "features", "layercam")
    share, _ = cam_energy_penalty(cam, x, torch.tensor([0]), mask, mode="outside")
    torch.testing.assert_close(share, torch.tensor([6 / 7]))


class _SmoothCNN(nn.Module):
    """Softplus instead of ReLU so that finite differences see no kinks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, stride=2)
        self.act = nn.Softplus()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv2(self.act(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def test_cam_energy_penalty_passes_gradcheck_in_float64():
    torch.manual_seed(0)
    model = _SmoothCNN().double().eval()
    # biases shift the map away from zero so that the map's ReLU has no kink near the point
    with torch.no_grad():
        model.conv2.bias.fill_(0.5)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2])
    mask = torch.zeros(2, 4, 4, dtype=torch.float64)
    mask[:, :2, :2] = 1
    loss = CAMEnergyLoss(model, "conv2", weight=1.0)
    assert 0 < float(cam_energy_penalty(loss.cam, x, y, mask)[0].min().detach()) < 1

    def share_of_input(inp: torch.Tensor) -> torch.Tensor:
        return cam_energy_penalty(loss.cam, inp, y, mask)[0]

    assert torch.autograd.gradcheck(share_of_input, (x,), eps=1e-6, atol=1e-6)

    names = ["conv1.weight", "fc.weight"]
    params = {n: p.detach().clone().requires_grad_(True) for n, p in model.named_parameters()}

    def share_of_weights(w1: torch.Tensor, wfc: torch.Tensor) -> torch.Tensor:
        swapped = _Functional(model, {**params, names[0]: w1, names[1]: wfc})
        cam = _cam(swapped, "inner.conv2", "gradcam")
        return cam_energy_penalty(cam, x.detach(), y, mask)[0]

    # with respect to the weights (what training needs): fast mode, random projections
    assert torch.autograd.gradcheck(
        share_of_weights,
        (params[names[0]], params[names[1]]),
        eps=1e-6,
        atol=1e-6,
        fast_mode=True,
    )


class _Functional(nn.Module):
    """Runs ``inner`` with the given parameter tensors (so gradcheck can vary them)."""

    def __init__(self, inner: nn.Module, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.inner = inner
        self.params = params

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.inner, self.params, (x,))


def test_cam_energy_loss_trains_evidence_out_of_the_mask():
    torch.manual_seed(0)
    model = _SmoothCNN()
    x = torch.randn(8, 3, 8, 8)
    y = torch.arange(8) % 3
    mask = torch.zeros(8, 8, 8)
    mask[:, :4] = 1  # the top half must not be used
    loss_fn = CAMEnergyLoss(model, "conv2", weight=10.0)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = float(cam_energy_penalty(loss_fn.cam, x, y, mask)[0].mean().detach())
    for _ in range(60):
        opt.zero_grad()
        loss_fn(x, y, mask).backward()
        opt.step()
    last = float(cam_energy_penalty(loss_fn.cam, x, y, mask)[0].mean().detach())
    assert last < 0.5 * first
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (torch.zeros(2, 5, 6), r"shape \(2, 5, 6\); expected \(2, 6, 6\)"),
        (torch.zeros(3, 6, 6), "expected"),
        (torch.zeros(2, 6, 6, dtype=torch.int64), "dtype torch.int64"),
        (torch.full((2, 6, 6), 2.0), r"values in \[0, 1\]"),
        (torch.full((2, 6, 6), float("nan")), r"values in \[0, 1\]"),
        ([[0.0]], "must be a torch.Tensor"),
    ],
)
def test_bad_masks_get_a_typed_error(mask, message):
    model = _SmoothCNN()
    x = torch.randn(2, 3, 6, 6)
    y = torch.tensor([0, 1])
    with pytest.raises(MaskError, match=message) as info:
        RRRLoss(model)(x, y, mask)
    assert isinstance(info.value, InvalidInputError)
    with pytest.raises(MaskError, match=message):
        CAMEnergyLoss(model, "conv2")(x, y, mask)


def test_channel_dim_mask_and_bool_mask_are_accepted():
    model = _SmoothCNN()
    x = torch.randn(2, 3, 6, 6)
    mask = torch.rand(2, 1, 6, 6) > 0.5
    torch.testing.assert_close(
        rrr_penalty(model, x, mask), rrr_penalty(model, x, mask[:, 0].float())
    )


def test_cam_energy_needs_a_differentiable_cam():
    import camlens

    model = _SmoothCNN()
    with pytest.raises(MaskError, match="differentiable=True"):
        cam_energy_penalty(
            camlens.GradCAM(model, "conv2"), torch.randn(1, 3, 6, 6), torch.tensor([0]),
            torch.zeros(1, 6, 6),
        )  # fmt: skip


def test_rrr_in_eval_mode_batch_norm_is_the_same_penalty_as_plain_batch_norm():
    # input_gradients computes running-statistics batch-norm as its affine map (a cheaper double
    # backward): same logits, same penalty, same parameter gradients as F.batch_norm itself
    from camlens.training.rrr import _AffineBatchNorm
    from camlens.zoo.benchmark_cnn import BenchmarkCNN

    torch.manual_seed(0)
    model = BenchmarkCNN().double().eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-1, 1)
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    mask = torch.zeros(3, 32, 32, dtype=torch.float64)
    mask[:, :8, :8] = 1

    def reference() -> torch.Tensor:  # the penalty without the affine rewrite
        xg = x.clone().requires_grad_(True)
        log_probs = torch.log_softmax(model(xg), dim=-1)
        (grad,) = torch.autograd.grad(log_probs.sum(), xg, create_graph=True)
        return (mask[:, None] * grad).pow(2).sum() / 3

    expected = reference()
    expected_grads = torch.autograd.grad(expected, list(model.parameters()))
    got = rrr_penalty(model, x, mask)
    got_grads = torch.autograd.grad(got, list(model.parameters()))
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    for a, b in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    # batch statistics (training mode) are left to F.batch_norm
    model.train()
    with torch.no_grad(), _AffineBatchNorm():
        rewritten = model(x)
    model.train()
    with torch.no_grad():
        plain = model(x)
    torch.testing.assert_close(rewritten, plain)


def test_rrr_folds_batch_norm_into_the_convolution_before_it_and_falls_back_when_unsafe():
    # conv -> eval batch-norm in an nn.Sequential runs as one convolution with folded weights; a
    # model that reads such a convolution's output elsewhere gets the unfolded forward instead,
    # and both give the penalty and parameter gradients of plain autograd
    from camlens.training.rrr import _AffineBatchNorm
    from camlens.zoo.benchmark_cnn import BenchmarkCNN

    torch.manual_seed(0)
    cnn = BenchmarkCNN().double().eval()
    mode = _AffineBatchNorm(cnn)
    with torch.no_grad(), mode:
        cnn(torch.randn(1, 3, 16, 16, dtype=torch.float64))
    assert len(mode.pairs) == 4 and mode.finish()

    class ConvReadTwice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
            self.fc = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            direct = self.seq[0](x)  # the paired convolution, without its batch-norm
            return self.fc((self.seq(x) + direct).mean((2, 3)))

    model = ConvReadTwice().double().eval()
    model.seq[1].running_mean.uniform_(-1, 1)
    model.seq[1].running_var.uniform_(0.5, 2)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    mask = torch.zeros(2, 8, 8, dtype=torch.float64)
    mask[:, :3] = 1
    mode = _AffineBatchNorm(model)
    with torch.no_grad(), mode:
        model(x)
    assert not mode.finish()  # the folded output reached the addition
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.log_softmax(model(xg), -1).sum(), xg, create_graph=True)
    expected = (mask[:, None] * grad).pow(2).sum() / 2
    got = rrr_penalty(model, x, mask)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    for a, b in zip(
        torch.autograd.grad(got, list(model.parameters())),
        torch.autograd.grad(expected, list(model.parameters())),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_rrr_loss_on_a_partly_annotated_batch_equals_the_whole_batch_computation():
    # eval mode: only the annotated images take the double backward, with the same loss and grads
    from camlens.zoo.benchmark_cnn import BenchmarkCNN

    torch.manual_seed(0)
    model = BenchmarkCNN().double().eval()
    x = torch.randn(5, 3, 32, 32, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4])
    mask = torch.zeros(5, 32, 32, dtype=torch.float64)
    mask[[1, 3], :8, :8] = 1
    loss_fn = RRRLoss(model, right_reasons=2.0)
    got = loss_fn(x, y, mask)
    got_grads = torch.autograd.grad(got, list(model.parameters()))
    logits = model(x)
    expected = nn.functional.cross_entropy(logits, y) + 2.0 * rrr_penalty(model, x, mask)
    expected_grads = torch.autograd.grad(expected, list(model.parameters()))
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    for a, b in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    no_mask = torch.zeros_like(mask)
    torch.testing.assert_close(
        loss_fn(x, y, no_mask), nn.functional.cross_entropy(logits, y), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_rrr_convolutions_of_every_kind_match_plain_autograd_to_second_order(dims):
    # input_gradients takes each convolution's input gradient as a transposed convolution (so
    # the double backward runs native kernels): strided, dilated, grouped, biased and padded
    # convolutions give plain autograd's penalty and parameter gradients, and a backward with
    # create_graph=True through the loss (a user's second-order step) is still exact
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    torch.manual_seed(dims)
    model = nn.Sequential(
        conv(4, 6, 3, stride=2, padding=1, dilation=1, groups=2, bias=True),
        nn.Tanh(),  # a smooth non-linearity: second derivatives that are not zero
        conv(6, 6, 3, stride=1, padding=2, dilation=2, bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.LazyLinear(3),
    ).double()
    size = (8,) * dims  # stride 2 from 8: the transposed convolution needs output_padding 1
    x = torch.randn(2, 4, *size, dtype=torch.float64)
    model(x)  # materialise the lazy layer
    mask = (torch.rand(2, *size) > 0.5).double()
    y = torch.tensor([0, 2])

    def reference() -> torch.Tensor:
        xg = x.clone().requires_grad_(True)
        logits = model(xg)
        (grad,) = torch.autograd.grad(torch.log_softmax(logits, -1).sum(), xg, create_graph=True)
        reasons = (mask[:, None] * grad).pow(2).sum() / 2
        return nn.functional.cross_entropy(logits, y) + 3.0 * reasons

    params = list(model.parameters())

    def with_derivatives(loss: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The loss, its parameter gradients and the gradients of their squared norm."""
        grads = torch.autograd.grad(loss, params, create_graph=True)
        second = torch.autograd.grad(sum(g.pow(2).sum() for g in grads), params)
        return (loss, *grads, *second)

    expected = with_derivatives(reference())
    got = with_derivatives(RRRLoss(model, right_reasons=3.0)(x, y, mask))
    torch.testing.assert_close(got[0], expected[0], rtol=1e-10, atol=1e-12)
    for a, b in zip(got[1:], expected[1:], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)
