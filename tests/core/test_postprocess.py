"""Upsampling and normalisation, by hand."""

import torch
import torch.nn.functional as F

from camlens.core.postprocess import fuse_paper, fuse_pytorch_grad_cam, normalize, upsample


def test_normalize_min_max_per_image():
    maps = torch.tensor([[[1.0, 3.0], [5.0, 2.0]], [[0.0, 0.0], [0.0, 4.0]]])
    expected = torch.tensor([[[0.0, 0.5], [1.0, 0.25]], [[0.0, 0.0], [0.0, 1.0]]])
    torch.testing.assert_close(normalize(maps), expected)


def test_constant_map_becomes_zeros_never_nan():
    out = normalize(torch.full((2, 3, 3), 5.0))
    assert torch.equal(out, torch.zeros(2, 3, 3))
    tiny = torch.tensor([[[0.0, 1e-30]]])
    assert torch.equal(normalize(tiny), torch.tensor([[[0.0, 1.0]]]))


def test_pytorch_grad_cam_normalisation_divides_by_max_plus_eps():
    maps = torch.tensor([[[0.0, 1e-7]]])
    torch.testing.assert_close(normalize(maps, eps=1e-7), torch.tensor([[[0.0, 0.5]]]))


def test_upsample_bilinear_half_pixel_by_hand():
    # 1x2 -> 1x4, align_corners=False: output centres map to x = -0.25, 0.25, 0.75, 1.25
    maps = torch.tensor([[[0.0, 4.0]]])
    out = upsample(maps, (1, 4))
    torch.testing.assert_close(out, torch.tensor([[[0.0, 1.0, 3.0, 4.0]]]))


def test_upsample_1d_and_3d_modes():
    line = torch.tensor([[0.0, 4.0]])
    torch.testing.assert_close(upsample(line, (4,)), torch.tensor([[0.0, 1.0, 3.0, 4.0]]))
    volume = torch.rand(2, 2, 3, 4)
    expected = F.interpolate(volume[:, None], size=(4, 6, 8), mode="trilinear")[:, 0]
    torch.testing.assert_close(upsample(volume, (4, 6, 8)), expected)


def test_fusion_orders():
    raw = [torch.tensor([[[0.0, 2.0]]]), torch.tensor([[[1.0, 1.0]]])]
    per_layer, fused = fuse_paper(raw, (1, 2))
    torch.testing.assert_close(per_layer[0], torch.tensor([[[0.0, 1.0]]]))
    assert torch.equal(per_layer[1], torch.zeros(1, 1, 2))
    torch.testing.assert_close(fused, torch.tensor([[[0.0, 1.0]]]))
    per_layer, fused = fuse_pytorch_grad_cam(raw, (1, 2))
    torch.testing.assert_close(per_layer[0], torch.tensor([[[0.0, 2.0 / (2.0 + 1e-7)]]]))
