"""``AutoLayerWarning`` names the user's line, whichever entry point chose the layer."""

from __future__ import annotations

import pytest
import torch

import camlens
import camlens.compat.pytorch_grad_cam as compat


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    ).eval()


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: camlens.GradCAM(m, target_layers=None)(x),
        lambda m, x: camlens.GradCAM(m, target_layers=None).explain(x),
        lambda m, x: camlens.GradCAM(m, target_layers=None).topk(x, k=2),
        lambda m, x: camlens.ScoreCAM(m, target_layers=None)(x),
        lambda m, x: compat.GradCAM(m, None)(x),
    ],
    ids=["call", "explain", "topk", "scorecam", "compat"],
)
def test_warning_points_at_the_callers_line(call) -> None:
    with pytest.warns(camlens.AutoLayerWarning) as record:
        call(model(), torch.randn(1, 3, 8, 8))
    auto = [w for w in record if issubclass(w.category, camlens.AutoLayerWarning)]
    assert auto and {w.filename for w in auto} == {__file__}, [w.filename for w in auto]
