"""The explain job without HTTP: the model's view recovered from preprocess, the small map's
area averages by hand, the model facts probed at start."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from serve.servers import png_bytes

from camlens.loading import load_image
from camlens.serve import Limits
from camlens.serve.errors import ServeError
from camlens.serve.explainer import Explainer, _size_of, small_map
from camlens.serve.options import ExplainOptions

torch.set_num_threads(1)


def duck(loaded, **changes):
    """The same model as a plain object without ``display_image`` (any LoadedModel-like)."""
    fields = {
        "model": loaded.model,
        "name": "duck",
        "categories": loaded.categories,
        "preprocess": loaded.preprocess,
        "input_size": loaded.input_size,
        "device": loaded.device,
        "target_layer": loaded.target_layer,
    }
    fields.update(changes)
    return SimpleNamespace(**fields)


def test_view_undoes_the_normalisation_exactly(loaded):
    image = load_image(png_bytes(120, 90, seed=11))
    explainer = Explainer(duck(loaded), Limits())
    x = explainer._tensor(image)
    view = explainer.view(image, x)
    np.testing.assert_array_equal(view, loaded.display_image(image, (64, 64)))


def test_view_falls_back_to_a_resize_for_a_preprocess_that_is_not_affine(loaded):
    def squared(image):
        return loaded.preprocess(image) ** 2  # not affine per channel

    image = load_image(png_bytes(64, 64, seed=12))
    explainer = Explainer(duck(loaded, preprocess=squared), Limits())
    assert not explainer._invertible
    view = explainer.view(image, explainer._tensor(image))
    np.testing.assert_array_equal(view, np.asarray(image))  # 64x64 already: resize is identity


def test_model_facts_probed_at_start(loaded):
    explainer = Explainer(duck(loaded, target_layer=None, categories=["a", "b"]), Limits())
    assert explainer.num_classes == 1000
    assert explainer.categories is None  # two names for 1000 outputs would mislead
    assert explainer.default_layer == "layer4"  # camlens' automatic choice
    assert explainer.name == "duck"


def test_run_explains_the_requested_class(loaded):
    explainer = Explainer(loaded, Limits())
    image = load_image(png_bytes(seed=13))
    options = ExplainOptions(target=42, top_k=3, map_size=8)
    checked = explainer.check(options)
    rendered = explainer.run(loaded.model, image, options, checked, want_png=False)
    body = rendered.body
    assert body["target"]["index"] == 42 and body["target"]["label"] == loaded.categories[42]
    assert len(body["top_k"]) == 3
    probabilities = [c["probability"] for c in body["top_k"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert (body["map"]["height"], body["map"]["width"]) == (8, 8)
    assert rendered.headers["X-Camlens-Target"] == "42"
    png = explainer.run(loaded.model, image, options, checked, want_png=True)
    assert png.body is None and png.png.startswith(b"\x89PNG")


def test_small_map_is_the_area_average():
    cam = torch.tensor([[0.0, 0.2, 0.4, 0.6], [1.0, 0.6, 0.8, 0.2]])
    assert small_map(cam, 2) == {"height": 1, "width": 2, "values": [[0.45, 0.5]]}
    assert small_map(cam, 4)["values"] == [[0.0, 0.2, 0.4, 0.6], [1.0, 0.6, 0.8, 0.2]]
    assert small_map(cam, 1) == {"height": 1, "width": 1, "values": [[0.475]]}


@pytest.mark.parametrize(
    ("size", "expected"),
    [(64, (64, 64)), ((32, 48), (32, 48)), ((3, 32, 48), (32, 48)), (None, (224, 224))],
)
def test_input_size_forms(size, expected):
    assert _size_of(size) == expected


def test_check_accepts_bracketed_layer_names(loaded):
    explainer = Explainer(loaded, Limits())
    checked = explainer.check(ExplainOptions(layer="layer4[-1]", method="Grad-CAM"))
    assert checked.layer == "layer4[-1]" and checked.method.__name__ == "GradCAM"
    assert checked.name == "gradcam" and checked.target is None


def test_check_resolves_class_names_like_the_cli(loaded):
    explainer = Explainer(loaded, Limits())
    assert explainer.check(ExplainOptions(target="Tiger Cat")).target == 282
    assert explainer.check(ExplainOptions(target="7")).target == 7
    unnamed = Explainer(duck(loaded, categories=None), Limits())
    with pytest.raises(ServeError, match="has no class names") as error:
        unnamed.check(ExplainOptions(target="tabby"))
    assert (error.value.status, error.value.code) == (422, "invalid_target")


def test_greyscale_and_transparent_uploads_are_explained(loaded):
    explainer = Explainer(loaded, Limits())
    options = ExplainOptions()
    checked = explainer.check(options)
    for mode in ("L", "RGBA", "P"):
        image = Image.new(mode, (40, 30))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        rgb = load_image(buffer.getvalue())
        rendered = explainer.run(loaded.model, rgb, options, checked, want_png=False)
        assert rendered.body["image"].startswith("data:image/png;base64,")


def test_a_default_layer_that_does_not_exist_fails_at_start(loaded):
    from camlens import LayerNotFoundError

    with pytest.raises(LayerNotFoundError, match="layer5"):
        Explainer(duck(loaded, target_layer="layer5"), Limits())
