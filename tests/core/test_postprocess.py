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


def test_a_1x1_or_constant_layer_map_gives_zeros_after_upsampling():
    # bilinear upsampling of a constant leaves ~5e-7 of rounding noise; min-max stretched it to
    # [0, 1] (values 0, 0.5, 1): the rule is decided on the low-resolution map instead
    for raw in (torch.full((2, 1, 1), 3.7), torch.full((1, 7, 7), 0.123456)):
        per_layer, fused = fuse_paper([raw], (224, 224))
        assert torch.equal(fused, torch.zeros(raw.shape[0], 224, 224))
        assert torch.equal(per_layer[0], fused)


def test_constant_means_flat_relative_to_the_maps_magnitude():
    # flat within CONSTANT_RTOL of its largest value: zeros, at any scale
    for scale in (1e-30, 1.0, 1e30):
        base = torch.tensor([[[1.0, 1.0], [1.0, 1.0 + 2e-6]]]) * scale
        assert torch.equal(normalize(base), torch.zeros(1, 2, 2)), scale
        assert torch.equal(fuse_paper([base], (5, 5))[1], torch.zeros(1, 5, 5)), scale
        real = torch.tensor([[[1.0, 1.0], [1.0, 1.001]]]) * scale
        torch.testing.assert_close(normalize(real), torch.tensor([[[0.0, 0.0], [0.0, 1.0]]]))
    # the decision is the low-resolution map's, even where the upsampled map looks flat
    low = torch.tensor([[[0.0, 1.0]]])
    torch.testing.assert_close(
        normalize(upsample(low, (1, 4)), low_res=low), torch.tensor([[[0.0, 0.25, 0.75, 1.0]]])
    )
    bumped = upsample(torch.full((1, 1, 1), 2.0), (1, 4)) + torch.tensor([0.0, 1e-3, 0.0, 0.0])
    assert normalize(bumped).max() == 1.0  # on its own, the bump is a map
    assert torch.equal(normalize(bumped, low_res=torch.full((1, 1, 1), 2.0)), torch.zeros(1, 1, 4))


def test_gradcam_on_a_1x1_layer_gives_zeros():
    torchvision = __import__("pytest").importorskip("torchvision")
    import camlens

    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    explanation = camlens.GradCAM(model, "layer4").explain(torch.randn(2, 3, 32, 32))
    assert explanation.raw["layer4"].shape == (2, 1, 1)
    assert torch.equal(explanation.maps, torch.zeros(2, 32, 32))
