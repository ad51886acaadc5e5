"""One capture extension point (issue 13, item 2): a method that needs a capture of its own
overrides ``BaseCAM.capture`` alone and gets the pipeline, ``aug_smooth`` included, for free."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import camlens
from camlens.core import smoothing
from camlens.core.base import BaseCAM, CaptureOptions, can_share_capture
from camlens.core.contract import Adapter, Capture
from camlens.errors import CamlensError
from camlens.methods import METHODS


class _Counting(camlens.GradCAM):
    """Grad-CAM whose capture records what the pipeline asked of it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls: list[tuple[tuple[int, ...], CaptureOptions]] = []

    def capture(self, x, target_sets, options):
        self.calls.append((tuple(x.shape), options))
        return super().capture(x, target_sets, options)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()  # fmt: skip


def test_aug_smooth_calls_the_capture_once_with_the_six_augmentations_ranked_on_the_clean_rows():
    model, x = _model(), torch.randn(2, 3, 8, 8)
    cam = _Counting(model, "0")
    smoothed = cam(x, aug_smooth=True)
    ((shape, options),) = cam.calls
    assert shape == (12, 3, 8, 8)
    assert torch.equal(options.rank_rows, smoothing.identity_rows(2, x.device))
    # the same maps as Grad-CAM's own aug_smooth: one wrapper for every method
    torch.testing.assert_close(smoothed, camlens.GradCAM(model, "0")(x, aug_smooth=True))
    cam.calls.clear()
    cam(x, eigen_smooth=True)
    assert cam.calls == [((2, 3, 8, 8), CaptureOptions(None, True))]


def test_a_method_with_its_own_capture_does_not_share_one():
    model = _model()
    own = {name for name, cls in METHODS.items() if cls.capture is not BaseCAM.capture}
    assert {"smoothgradcam++", "shapleycam", "sess", "sobelcam", "fullgrad"} <= own
    assert not can_share_capture(_Counting(model, "0"))
    assert can_share_capture(camlens.GradCAM(model, "0"))
    for name in ("smoothgradcam++", "shapleycam", "sess", "sobelcam", "fullgrad"):
        assert "explain_targets" not in METHODS[name].__dict__  # the pipeline is the base's


@pytest.mark.filterwarnings("ignore:target_layers is ignored by FullGrad")
@pytest.mark.parametrize("name", ["fullgrad", "sess", "shapleycam", "smoothgradcam++"])
def test_a_capture_made_for_other_methods_is_refused_with_a_message(name):
    model, x = _model(), torch.randn(1, 3, 8, 8)
    plain = camlens.GradCAM(model, "0").adapter.capture(x, [None])
    with pytest.raises(CamlensError, match="on its own"):
        METHODS[name](model, "0").explanations(plain)


@pytest.mark.filterwarnings("ignore:target_layers is ignored by FullGrad")
def test_every_method_has_an_adapter_that_meets_the_protocol():
    model = _model()
    for name, cls in METHODS.items():
        if name in ("rollout", "chefer", "legrad"):
            continue  # transformers only
        cam = cls(model, "0")
        assert isinstance(cam.adapter, Adapter), name


def test_the_old_import_path_still_gives_the_adapter_and_the_capture():
    from camlens.core import capture, contract, torch_adapter

    assert capture.TorchAdapter is torch_adapter.TorchAdapter
    assert capture.Capture is contract.Capture is Capture
    assert capture.model_logits is contract.model_logits
