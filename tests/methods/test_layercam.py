"""LayerCAM by hand: Σ_k ReLU(G)⊙A = [[1, 0], [0, 4]] + [[0, 0], [2, 0]] = [[1, 0], [2, 4]]."""

import torch

import camlens


def test_layercam_hand_computed(readout):
    model, x = readout
    e = camlens.LayerCAM(model, "features").explain(x, targets=[0])
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[1.0, 0.0], [2.0, 4.0]]))
