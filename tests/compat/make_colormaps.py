"""Regenerate ``camlens/compat/pytorch_grad_cam/utils/_colormaps.py`` from OpenCV.

Run: ``.venv/bin/python tests/compat/make_colormaps.py > \
src/camlens/compat/pytorch_grad_cam/utils/_colormaps.py`` (needs opencv-python-headless).
``test_image.py`` checks every table against ``cv2.applyColorMap`` byte for byte.
"""

from __future__ import annotations

import base64
import textwrap

import cv2
import numpy as np

HEADER = '''"""OpenCV's colormap look-up tables, so ``show_cam_on_image`` needs no OpenCV.

Each table is ``cv2.applyColorMap(np.arange(256, dtype=np.uint8), COLORMAP_X)``: 256 BGR
triplets, base64-encoded. Generated from OpenCV {version} (Apache-2.0) by
``tests/compat/make_colormaps.py``; do not edit by hand.
"""

from __future__ import annotations

import base64

import numpy as np

# OpenCV's colormap ids, in id order (COLORMAP_AUTUMN = 0 ... COLORMAP_DEEPGREEN = 21).
NAMES = (
{names}
)

_TABLES = {{
'''


def main() -> None:
    ids = {n[len("COLORMAP_") :]: getattr(cv2, n) for n in dir(cv2) if n.startswith("COLORMAP_")}
    names = tuple(sorted(ids, key=ids.get))
    assert [ids[n] for n in names] == list(range(len(names)))
    listed = "\n".join(f'    "{n}",' for n in names)
    out = [HEADER.format(version=cv2.__version__, names=listed)]
    for name in names:
        lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], ids[name])[:, 0]
        text = base64.b64encode(np.ascontiguousarray(lut).tobytes()).decode()
        lines = "\n".join(f'        "{chunk}"' for chunk in textwrap.wrap(text, 88))
        out.append(f'    "{name}": (\n{lines}\n    ),\n')
    out.append(
        "}\n\n\n"
        "def lut(colormap: int) -> np.ndarray:\n"
        '    """``(256, 3)`` uint8 BGR table of OpenCV colormap id ``colormap``."""\n'
        "    raw = base64.b64decode(_TABLES[NAMES[colormap]])\n"
        "    return np.frombuffer(raw, dtype=np.uint8).reshape(256, 3)\n"
    )
    print("".join(out), end="")


if __name__ == "__main__":
    main()
