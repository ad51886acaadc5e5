"""The core's errors and warnings; they are defined in :mod:`camlens.errors` (the one errors
module) and re-exported here, so ``from camlens.core.errors import ...`` keeps working."""

from __future__ import annotations

from ..errors import AttentionNotFoundError as AttentionNotFoundError
from ..errors import AutoLayerWarning as AutoLayerWarning
from ..errors import CamlensError as CamlensError
from ..errors import ConcurrentUseError as ConcurrentUseError
from ..errors import InvalidInputError as InvalidInputError
from ..errors import LayerNotFoundError as LayerNotFoundError
from ..errors import LayerNotReachedError as LayerNotReachedError
from ..errors import LayerOutputError as LayerOutputError
from ..errors import MaskError as MaskError
from ..errors import OptionError as OptionError
from ..errors import TargetError as TargetError
from ..errors import TrainingModeError as TrainingModeError
from ..errors import TrainingModeWarning as TrainingModeWarning


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first frame outside camlens: the user's line, however
    many camlens frames (``cam(x)``, ``explain``, ``topk``, compat classes, ...) lie between."""
    import os
    import sys
    import types
    import warnings

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame: types.FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
