"""Eigen-CAM by hand on rank-one activations A1 = 2·A0: the centred (N, C) matrix is
(A0 - 2.5) ⊗ (1, 2), so v1 = (1, 2)/√5 and the projection is √5·(A0 - 2.5)."""

import math

import torch
from tiny_models import Readout

import camlens

A0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]])


def _model():
    return Readout(torch.zeros(1, 2, 2, 2)).eval()


def test_eigencam_hand_computed():
    x = torch.stack([A0, 2 * A0])[None]
    e = camlens.EigenCAM(_model(), "features").explain(x, targets=[0])
    r5 = math.sqrt(5)
    expected = torch.tensor([[0.0, 0.0], [0.5 * r5, 1.5 * r5]])
    torch.testing.assert_close(e.raw["features"][0], expected)


def test_eigencam_sign_follows_the_activations_not_lapack():
    # Reverse the spatial order: the strong activations are now top-left, and so is the map.
    flipped = A0.flip(0).flip(1)
    x = torch.stack([flipped, 2 * flipped])[None]
    e = camlens.EigenCAM(_model(), "features").explain(x, targets=[0])
    assert e.raw["features"][0].argmax() == 0
    # and negating the activations' direction of variation cannot invert the map either
    x2 = torch.stack([A0, 2 * A0])[None]
    e2 = camlens.EigenCAM(_model(), "features").explain(x2)
    assert e2.raw["features"][0].argmax() == 3


def test_eigencam_needs_no_gradients(small_cnn, images):
    cam = camlens.EigenCAM(small_cnn, "conv3")
    assert not cam.uses_gradients
    with torch.no_grad():
        maps = cam(images)
    assert maps.shape == (4, 16, 16) and not maps.requires_grad
