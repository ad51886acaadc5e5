"""XGrad-CAM by hand: w0 = Σ G0·A0 / ΣA0 = (1 + 4)/10 = 0.5; w1 = (-1 - 1 + 2 + 0)/3 = 0."""

import torch

import camlens


def test_xgradcam_hand_computed(readout):
    model, x = readout
    e = camlens.XGradCAM(model, "features").explain(x, targets=[0])
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[0.5, 1.0], [1.5, 2.0]]))


def test_xgradcam_zero_channel_gets_zero_weight_not_nan(readout):
    model, x = readout
    x[:, 1] = 0  # ΣA1 = 0: the paper's weight is 0/0; camlens sets it to 0
    e = camlens.XGradCAM(model, "features").explain(x, targets=[0])
    assert torch.isfinite(e.raw["features"]).all()
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[0.5, 1.0], [1.5, 2.0]]))
