"""Grad-CAM by hand: α = spatial mean of G = (0.5, 0.5); map = ReLU(0.5·A0 + 0.5·A1)."""

import torch

import camlens


def test_gradcam_hand_computed(readout):
    model, x = readout
    e = camlens.GradCAM(model, "features").explain(x, targets=[camlens.ClassTarget(0)])
    expected = torch.tensor([[1.0, 1.5], [2.0, 2.0]])
    torch.testing.assert_close(e.raw["features"][0], expected)
    # normalised: (m - 1) / (2 - 1)
    torch.testing.assert_close(e.maps[0], torch.tensor([[0.0, 0.5], [1.0, 1.0]]))


def test_gradcam_other_class_is_relu_of_negation(readout):
    model, x = readout
    # class 1 has gradient -G: map = ReLU(-(0.5·A0 + 0.5·A1)) = 0 everywhere -> zeros, not NaN.
    e = camlens.GradCAM(model, "features").explain(x, targets=[camlens.ClassTarget(1)])
    assert torch.equal(e.raw["features"], torch.zeros(1, 2, 2))
    assert torch.equal(e.maps, torch.zeros(1, 2, 2))


def test_gradcam_counterfactual_is_gradcam_of_negated_score(readout):
    model, x = readout
    cam = camlens.GradCAM(model, "features")
    counter = cam.explain(x, targets=[camlens.CounterfactualTarget(1)]).raw["features"]
    torch.testing.assert_close(counter[0], torch.tensor([[1.0, 1.5], [2.0, 2.0]]))
