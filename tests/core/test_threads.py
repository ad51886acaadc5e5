"""Two threads explaining with one model at the same time (issue #12, item 6).

Hooks live on the model's modules, which every thread shares: camlens' hooks act only on the
forward passes of the thread that installed them, parameters are frozen and restored by
reference count, and Score-CAM's BatchNorm-folded copy is built without torch.fx (whose tracer
patches ``nn.Module.__call__`` for every thread). Real threads, released together by a barrier.
"""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

import camlens
from camlens.methods.ablationcam import AblationCAM
from camlens.methods.scorecam import ScoreCAM

THREADS = 4
ROUNDS = 3


class BNNet(nn.Module):
    """A small CNN with conv → BN pairs (so Score-CAM folds) and a residual block."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.layer = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = torch.relu(h + self.bn(self.conv(h)))
        return self.fc(self.layer(h).mean(dim=(2, 3)))


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = BNNet().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def _hammer(call, inputs: list[torch.Tensor]) -> list[object]:
    """Run ``call(x)`` ROUNDS times in each of THREADS threads started together."""
    barrier = threading.Barrier(THREADS)
    results: list[list[object]] = [[] for _ in range(THREADS)]

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(ROUNDS):
            try:
                results[i].append(call(inputs[i]))
            except Exception as error:  # reported by the assertions below
                results[i].append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize(
    "make",
    [
        lambda m: camlens.GradCAM(m, "layer"),
        lambda m: camlens.GradCAMPlusPlus(m, ["stem", "layer"]),
        lambda m: ScoreCAM(m, "layer", batch_size=5),
        lambda m: AblationCAM(m, "layer", batch_size=3),
    ],
    ids=["gradcam", "gradcam++-two-layers", "scorecam", "ablationcam"],
)
def test_one_cam_object_shared_by_threads_gives_the_single_threaded_maps(make):
    model = _model()
    gen = torch.Generator().manual_seed(3)
    inputs = [torch.randn(2, 3, 12, 12, generator=gen) for _ in range(THREADS)]
    cam = make(model)
    expected = [cam(x).clone() for x in inputs]
    results = _hammer(cam, inputs)
    for i, got in enumerate(results):
        for maps in got:
            assert not isinstance(maps, Exception), repr(maps)
            torch.testing.assert_close(maps, expected[i], atol=1e-6, rtol=1e-5)
    assert all(p.requires_grad for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_first_score_cam_calls_in_threads_at_once_fold_safely():
    # The BatchNorm-folded copy is made on the first call: four first calls at once, while the
    # other threads run the model (torch.fx's tracer would patch nn.Module.__call__ for them).
    model = _model()
    gen = torch.Generator().manual_seed(4)
    inputs = [torch.randn(1, 3, 12, 12, generator=gen) for _ in range(THREADS)]
    expected = [ScoreCAM(model, "layer", fold_batchnorm=False)(x) for x in inputs]
    results = _hammer(lambda x: ScoreCAM(model, "layer")(x), inputs)
    for i, got in enumerate(results):
        for maps in got:
            assert not isinstance(maps, Exception), repr(maps)
            torch.testing.assert_close(maps, expected[i], atol=1e-5, rtol=1e-4)


def test_gradient_and_perturbation_methods_mixed_across_threads():
    model = _model()
    gen = torch.Generator().manual_seed(5)
    inputs = [torch.randn(2, 3, 12, 12, generator=gen) for _ in range(THREADS)]
    cams = [
        camlens.GradCAM(model, "layer"),
        ScoreCAM(model, "layer"),
        AblationCAM(model, "layer"),
        camlens.LayerCAM(model, "layer"),
    ]
    expected = [cam(x).clone() for cam, x in zip(cams, inputs, strict=True)]
    index = {id(x): i for i, x in enumerate(inputs)}
    results = _hammer(lambda x: cams[index[id(x)]](x), inputs)
    for i, got in enumerate(results):
        for maps in got:
            assert not isinstance(maps, Exception), repr(maps)
            torch.testing.assert_close(maps, expected[i], atol=1e-6, rtol=1e-5)


def test_a_plain_forward_in_another_thread_is_not_recorded_or_changed():
    # While one thread explains, another runs the model itself: its outputs are untouched
    # (Ablation-CAM replaces the layer's output only in its own thread's passes).
    model = _model()
    x = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        plain = model(x)
    cam = AblationCAM(model, "layer", batch_size=2)
    expected = cam(x).clone()
    barrier = threading.Barrier(2)
    seen: list[object] = []

    def forward_loop() -> None:
        barrier.wait()
        for _ in range(40):
            with torch.no_grad():
                seen.append(model(x))

    t = threading.Thread(target=forward_loop)
    t.start()
    barrier.wait()
    maps = [cam(x) for _ in range(3)]
    t.join()
    for out in seen:
        torch.testing.assert_close(out, plain)
    for m in maps:
        torch.testing.assert_close(m, expected, atol=1e-6, rtol=1e-5)


def test_a_differentiable_call_while_another_thread_froze_the_parameters_says_what_to_do():
    from camlens.core.capture import frozen_parameters

    model = _model()
    x = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(7))
    errors: list[Exception] = []

    def differentiable_call() -> None:
        try:
            camlens.GradCAM(model, "layer", differentiable=True)(x)
        except Exception as error:
            errors.append(error)

    with frozen_parameters(model):  # what another thread's (non-differentiable) call holds
        t = threading.Thread(target=differentiable_call)
        t.start()
        t.join()
    assert len(errors) == 1 and isinstance(errors[0], camlens.ConcurrentUseError)
    assert "copy.deepcopy" in str(errors[0]) and "lock" in str(errors[0])
    assert all(p.requires_grad for p in model.parameters())
    maps = camlens.GradCAM(model, "layer", differentiable=True)(x)
    assert maps.requires_grad


def test_while_a_differentiable_call_runs_other_calls_leave_the_parameters_alone():
    from camlens.core.capture import frozen_parameters

    model = _model()
    x = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(8))
    expected = camlens.GradCAM(model, "layer")(x)
    with frozen_parameters(model, enabled=False):  # a differentiable call in another thread
        seen: list[bool] = []
        handle = model.fc.register_forward_hook(lambda m, i, o: seen.append(m.weight.requires_grad))
        maps = camlens.GradCAM(model, "layer")(x)
        handle.remove()
    assert seen == [True]
    torch.testing.assert_close(maps, expected)
    assert all(p.requires_grad for p in model.parameters())
