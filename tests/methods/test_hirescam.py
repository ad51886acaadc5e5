"""HiResCAM by hand: Σ_k G⊙A = [[1-1, 0-1], [0+2, 4+0]] = [[0, -1], [2, 4]] -> ReLU."""

import torch

import camlens


def test_hirescam_hand_computed(readout):
    model, x = readout
    e = camlens.HiResCAM(model, "features").explain(x, targets=[0])
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[0.0, 0.0], [2.0, 4.0]]))
