"""CAMGuidedAugment is an nn.Module: the Module API (``.to``, ``.double``) works on it."""

import torch
from torch import nn

from camlens.training import CAMGuidedAugment


def test_module_conversions_reach_torch_not_the_augmentation():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    ).eval()
    augment = CAMGuidedAugment(model, "0", p=1.0, mode="erase", area=0.25)
    # nn.Module.to/double call self._apply(fn); a method of that name with another signature
    # broke them (TypeError).
    assert augment.to("cpu") is augment
    assert augment.double() is augment
    x = torch.rand(2, 3, 8, 8)
    out = augment(x, torch.tensor([0, 1]))
    changed = (out != x).any(dim=1)  # the erased evidence region, per image
    assert out.shape == x.shape
    assert changed.flatten(1).sum(dim=1).tolist() == [16, 16]  # 25% of 8x8 positions each
