"""The core's errors and warnings; they are defined in :mod:`camlens.errors` (the one errors
module) and re-exported here, so ``from camlens.core.errors import ...`` keeps working."""

from __future__ import annotations

from ..errors import AutoLayerWarning as AutoLayerWarning
from ..errors import CamlensError as CamlensError
from ..errors import ConcurrentUseError as ConcurrentUseError
from ..errors import InvalidInputError as InvalidInputError
from ..errors import LayerNotFoundError as LayerNotFoundError
from ..errors import LayerNotReachedError as LayerNotReachedError
from ..errors import LayerOutputError as LayerOutputError
from ..errors import TargetError as TargetError
from ..errors import TrainingModeWarning as TrainingModeWarning
