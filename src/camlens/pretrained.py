"""Moved to :mod:`camlens.models._pretrained`; this old path is the same module.

``camlens.pretrained`` *is* ``camlens.models._pretrained`` (one module object), so its names,
and attributes set on it (tests patch ``_legacy_package_file``), are shared.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .models import _pretrained

if TYPE_CHECKING:
    from .models._pretrained import *  # noqa: F403

sys.modules[__name__] = _pretrained
