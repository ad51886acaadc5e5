"""Draw class activation maps: overlays, single figures with a colour bar, and grids.

from camlens.viz import overlay, figure, save_grid
rgb = overlay(image, maps[0])                  # (H, W, 3) uint8
figure(image, maps[0], title="tabby").savefig("cat.png")
save_grid(images, maps[:, None], "grid.png")   # rows = images, columns = maps

Matplotlib colormaps only (no OpenCV); figures are drawn on an Agg canvas (no display needed).
"""

from __future__ import annotations

from .figures import figure, grid, save_grid
from .overlay import (
    VizInputError,
    as_rgb,
    cam_to_float,
    get_colormap,
    heatmap,
    image_to_float,
    overlay,
)

__all__ = [
    "VizInputError",
    "as_rgb",
    "cam_to_float",
    "figure",
    "get_colormap",
    "grid",
    "heatmap",
    "image_to_float",
    "overlay",
    "save_grid",
]
