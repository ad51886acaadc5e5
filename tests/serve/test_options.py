"""The explain options: defaults, and each bad option named in one 4xx message."""

from __future__ import annotations

import pytest

from camlens.serve.errors import ServeError
from camlens.serve.options import ExplainOptions, parse_options


@pytest.mark.parametrize("text", [None, "", "  ", "{}"])
def test_missing_or_empty_options_are_the_defaults(text):
    assert parse_options(text) == ExplainOptions()
    defaults = ExplainOptions()
    assert (defaults.method, defaults.layer, defaults.target) == ("gradcam", None, None)
    assert (defaults.colormap, defaults.alpha, defaults.top_k) == ("jet", 0.5, 5)


def test_target_is_an_index_or_a_class_name():
    assert parse_options('{"target": 281}').target == 281
    assert parse_options('{"target": "tabby"}').target == "tabby"  # resolved by the explainer


def test_options_are_read():
    options = parse_options('{"method": "layercam", "layer": "layer3", "target": 9, "alpha": 1}')
    assert (options.method, options.layer, options.target, options.alpha) == (
        "layercam",
        "layer3",
        9,
        1.0,
    )


@pytest.mark.parametrize(
    ("text", "status", "words"),
    [
        ("{", 400, "not valid JSON"),
        ('"gradcam"', 400, "JSON object"),
        ('{"alpha": -0.1}', 422, "alpha: Input should be greater than or equal to 0"),
        ('{"target": true}', 422, "target"),  # not class 1
        ('{"target": 2.5}', 422, "target"),
        ('{"target": -1}', 422, "target"),
        ('{"top_k": 0, "mapsize": 3}', 422, "unknown option 'mapsize'"),
    ],
)
def test_bad_options(text, status, words):
    with pytest.raises(ServeError) as error:
        parse_options(text)
    assert error.value.status == status
    assert words in error.value.message
