"""Mirror of ``pytorch_grad_cam.sobel_cam``: the edge-strength baseline, without OpenCV.

``sobel_cam(img)`` takes an ``(H, W, 3)`` RGB image and returns OpenCV's ``(H, W)`` uint8 result
(grey level, 3×3 Sobel, ``convertScaleAbs``, ``addWeighted``), computed in torch.
"""

from __future__ import annotations

from ...methods.sobelcam import sobel_cam

__all__ = ["sobel_cam"]
