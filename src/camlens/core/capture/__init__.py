"""Old import path of the capture engine, kept as an alias: the contract's part (:class:`Capture`,
:func:`model_logits`, :func:`check_input`) now lives in :mod:`camlens.core.contract`, the PyTorch
adapter in :mod:`camlens.core.torch_adapter`."""

from __future__ import annotations

from ..contract import Capture as Capture
from ..contract import ReshapeTransform as ReshapeTransform
from ..contract import check_input as check_input
from ..contract import model_logits as model_logits
from ..torch_adapter import HeadPlan as HeadPlan
from ..torch_adapter import HeadRecord as HeadRecord
from ..torch_adapter import TorchAdapter as TorchAdapter
from ..torch_adapter import frozen_parameters as frozen_parameters
from ..torch_adapter import mine as mine
from ..torch_adapter import module_copy as module_copy
from ..torch_adapter import warn_if_training as warn_if_training
