"""Display helpers: Simonyan's max_c |w_c| map by hand, and pytorch-grad-cam's deprocess_image."""

import pytest
import torch

from camlens.pixel.display import deprocess, saliency_map


def test_saliency_map_reductions_by_hand():
    # pixel (0, 0): channels (3, -4); pixel (0, 1): channels (-1, 0)
    a = torch.tensor([[[[3.0, -1.0]], [[-4.0, 0.0]]]])
    raw = {"max_abs": [4.0, 1.0], "abs_sum": [7.0, 1.0], "sum": [-1.0, -1.0], "l2": [5.0, 1.0]}
    for reduction, values in raw.items():
        out = saliency_map(a, reduction, normalized=False)
        torch.testing.assert_close(out, torch.tensor([[values]]))
    torch.testing.assert_close(saliency_map(a), torch.tensor([[[1.0, 0.0]]]))  # (4, 1) -> (1, 0)
    with pytest.raises(ValueError, match="reduction"):
        saliency_map(a, "max")


def test_deprocess_matches_pytorch_grad_cam():
    image_utils = pytest.importorskip("pytorch_grad_cam.utils.image")
    a = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 1e-3
    ours = deprocess(a, uint8=True)
    for i in range(3):
        theirs = image_utils.deprocess_image(a[i].permute(1, 2, 0).numpy())
        diff = (ours[i].permute(1, 2, 0).int() - torch.from_numpy(theirs).int()).abs()
        assert diff.max() <= 1 and (diff == 0).float().mean() > 0.99  # float32 rounding only
    scaled = deprocess(a)
    assert scaled.min() >= 0 and scaled.max() <= 1
    flat = scaled.flatten(1)
    # mean 0.5 and std 0.1 per image where nothing is clipped
    torch.testing.assert_close(flat.mean(1), torch.full((3,), 0.5), atol=2e-3, rtol=0)
