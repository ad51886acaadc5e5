"""GradCAMElementWise by hand: Σ_k ReLU(G⊙A) = [[1+0, 0+0], [0+2, 4+0]] (HiResCAM gives 0 at
(0, 0), where the negative term cancels the positive one)."""

import torch

import camlens


def test_gradcam_elementwise_hand_computed(readout):
    model, x = readout
    e = camlens.GradCAMElementWise(model, "features").explain(x, targets=[0])
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[1.0, 0.0], [2.0, 4.0]]))
