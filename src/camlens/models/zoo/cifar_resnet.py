"""The classic CIFAR ResNet of He et al. (2016, sec. 4.2), as in akamaster/pytorch_resnet_cifar10.

``depth = 6n + 2``: a 3×3 conv (16 channels), three stages of ``n`` basic blocks with 16, 32, 64
channels (the 2nd and 3rd start with stride 2), global average pooling, linear 64 -> classes.
Shortcuts are option A: identity, or — where a stage halves the resolution — stride-2
subsampling with the new channels zero-padded, so shortcuts have no parameters. Module names
(``conv1``, ``bn1``, ``layer1.0.conv1`` … ``linear``) match the published checkpoints' keys, so
``load_state_dict(strict=True)`` succeeds once their ``module.`` prefix is removed.
``layer3`` (64 channels, 8×8 for a 32×32 input) is the Grad-CAM layer.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ...core.errors import InvalidInputError

DEPTHS = (20, 32, 44, 56, 110, 1202)


class OptionAShortcut(nn.Module):
    """``x[:, :, ::2, ::2]`` with ``pad`` zero channels on each side (no parameters)."""

    def __init__(self, pad: int):
        super().__init__()
        self.pad = pad

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """conv-bn-relu-conv-bn, plus the shortcut, then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut: nn.Module = OptionAShortcut((cout - cin) // 2)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """``(B, 3, 32, 32)`` ImageNet-normalised images -> ``(B, num_classes)`` logits.

    Example:
        >>> import torch
        >>> CifarResNet(depth=8)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, depth: int = 56, num_classes: int = 10):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise InvalidInputError(
                f"a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110, …), got {depth}."
            )
        n = (depth - 2) // 6
        self.depth = depth
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._stage(16, 16, n, stride=1)
        self.layer2 = self._stage(16, 32, n, stride=2)
        self.layer3 = self._stage(32, 64, n, stride=2)
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():  # He et al.'s initialisation, as in the reference code
            if isinstance(m, nn.Linear | nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)

    @staticmethod
    def _stage(cin: int, cout: int, blocks: int, stride: int) -> nn.Sequential:
        layers = [BasicBlock(cin, cout, stride)]
        layers += [BasicBlock(cout, cout, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def cifar_resnet(depth: int = 56, num_classes: int = 10) -> CifarResNet:
    """The CIFAR ResNet of ``depth`` (6n + 2) with random weights."""
    return CifarResNet(depth, num_classes)
