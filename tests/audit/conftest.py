"""Fixtures of the audit tests: a small ImageFolder tree and a seeded tiny model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_helpers import make_folder, make_loaded


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "data", per_class=8)


@pytest.fixture
def loaded():
    return make_loaded()
