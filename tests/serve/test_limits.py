"""Limits: sensible defaults, and a clear error for a limit that cannot work."""

from __future__ import annotations

import pytest

from camlens import CamlensError
from camlens.serve import Limits, ServeConfigError


def test_defaults_and_capacity():
    limits = Limits()
    assert limits.max_upload_bytes == 10 * (1 << 20)
    assert limits.max_concurrency == 1
    assert limits.capacity == 1 + limits.queue
    assert Limits(max_concurrency=3, queue=0).capacity == 3
    assert limits.max_connections == limits.capacity + 100
    assert Limits(queue=0, extra_connections=0).max_connections == 1
    assert limits.header_timeout == 10.0


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_concurrency", 0, "max_concurrency must be a positive integer"),
        ("max_upload_bytes", -1, "max_upload_bytes"),
        ("max_pixels", 1.5, "max_pixels"),
        ("max_top_k", True, "max_top_k"),
        ("queue", -1, "queue must be an integer >= 0"),
        ("timeout", 0, "timeout must be a positive number"),
        ("timeout", float("nan"), "timeout"),
        ("header_timeout", 0, "header_timeout must be a positive number"),
        ("extra_connections", -1, "extra_connections must be an integer >= 0"),
    ],
)
def test_bad_limits_raise_a_typed_error(field, value, words):
    with pytest.raises(ServeConfigError, match=words) as error:
        Limits(**{field: value})
    assert isinstance(error.value, CamlensError)
