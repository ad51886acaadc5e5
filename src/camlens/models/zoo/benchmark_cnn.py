"""The small CNN trained on the shapes benchmark (``scripts/train_benchmark.py``).

Four conv blocks (3×3 conv, batch-norm, ReLU), max-pooling after the first two, then global
average pooling and a linear layer. At 64×64 input the feature maps are 32, 16, 16, 16 pixels
wide; ``block4`` (64 channels, 16×16, one cell per 4×4 pixels) is the Grad-CAM layer.
About 61k parameters (a 250 kB state dict).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

TARGET_LAYER = "block4"
INPUT_SIZE = 64
# Inputs in [0, 1] are normalised with these per-channel values before the model.
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def _block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class BenchmarkCNN(nn.Module):
    """``(B, 3, H, W)`` normalised images -> ``(B, num_classes)`` logits.

    Example:
        >>> import torch
        >>> BenchmarkCNN(num_classes=5)(torch.rand(2, 3, 64, 64)).shape
        torch.Size([2, 5])
    """

    def __init__(self, num_classes: int = 5, widths: tuple[int, int, int, int] = (16, 32, 64, 64)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.block1 = _block(3, w1, pool=True)
        self.block2 = _block(w1, w2, pool=True)
        self.block3 = _block(w2, w3, pool=False)
        self.block4 = _block(w3, w4, pool=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w4, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.block4(self.block3(self.block2(self.block1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))
