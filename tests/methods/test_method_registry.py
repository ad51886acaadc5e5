"""Every method registers itself, with its name and aliases, where it is defined."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import camlens.methods
from camlens.core import registry
from camlens.core.base import BaseCAM
from camlens.errors import InvalidInputError
from camlens.methods import METHODS, get_method

# The CLI's help and the docs list the methods in this order.
LISTED = [
    "gradcam", "gradcam++", "xgradcam", "hirescam", "gradcamelementwise", "layercam",
    "eigencam", "eigengradcam", "cam", "scorecam", "sscam", "iscam", "ablationcam",
    "randomcam", "fullgrad", "shapleycam", "finercam", "fem", "sobelcam", "kpcacam",
    "segeigencam", "smoothgradcam++", "refinecam", "sess", "rise", "occlusion",
    "rollout", "chefer", "legrad", "lime", "kernelshap",
]  # fmt: skip


def method_classes() -> list[type[BaseCAM]]:
    """Every public BaseCAM subclass defined in a module of camlens.methods."""
    found = []
    for info in pkgutil.iter_modules(camlens.methods.__path__):
        module = importlib.import_module(f"camlens.methods.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseCAM)
                and cls.__module__ == module.__name__
                and not cls.__name__.startswith("_")
                and not inspect.isabstract(cls)
                and "name" in cls.__dict__
            ):
                found.append(cls)
    return found


def test_methods_keeps_its_keys_and_order():
    assert list(METHODS) == LISTED
    assert METHODS is registry.METHODS and get_method is registry.get_method


def test_every_method_class_is_registered_under_its_name_and_aliases():
    classes = method_classes()
    assert {c.name for c in classes} == set(LISTED)
    for cls in classes:
        assert METHODS[cls.name] is cls
        assert get_method(cls.name.upper()) is cls
        assert set(cls.aliases) == set(cls.__dict__.get("aliases", ()))  # not inherited
        for alias in cls.aliases:
            assert get_method(alias) is cls
    assert get_method("Grad-CAM++") is get_method("grad_cam_plus_plus") is METHODS["gradcam++"]
    assert get_method("smoothgradcampp") is camlens.methods.SmoothGradCAMPlusPlus
    assert get_method("attention-rollout") is camlens.methods.AttentionRollout


def test_only_classes_that_name_themselves_are_registered():
    # the base classes, DFF and the compat subclasses are not methods of their own
    from camlens.compat.pytorch_grad_cam import GradCAM as CompatGradCAM
    from camlens.methods._attention import AttentionMethod

    registered = set(METHODS.values())
    assert AttentionMethod not in registered and CompatGradCAM not in registered
    assert "name" not in CompatGradCAM.__dict__ and CompatGradCAM.name == "gradcam"
    assert not issubclass(camlens.methods.DeepFeatureFactorization, BaseCAM)


def test_every_class_name_is_the_one_spelling_of_its_method():
    for name, cls in METHODS.items():
        assert getattr(camlens.methods, cls.__name__) is cls
        assert getattr(camlens, cls.__name__) is cls  # the lazy top-level namespace
        module = name.replace("++", "pp")
        assert cls.__module__ == f"camlens.methods.{module}"  # one file-naming rule


def test_old_module_names_are_the_renamed_modules():
    from camlens.methods import gradcam_elementwise, gradcam_plusplus, gradcamelementwise, gradcampp

    assert gradcam_plusplus is gradcampp and gradcam_elementwise is gradcamelementwise
    assert gradcam_plusplus.GradCAMPlusPlus is METHODS["gradcam++"]


def test_a_new_method_registers_and_a_taken_name_is_refused():
    try:

        class MyCAM(BaseCAM):
            name = "mycam"
            aliases = ("my-cam-x",)

        assert get_method("MyCAMX") is MyCAM and list(METHODS)[-1] == "mycam"
        with pytest.raises(InvalidInputError, match=r"'gradcam' .* is taken by"):
            type("Clash", (BaseCAM,), {"name": "gradcam"})
        with pytest.raises(InvalidInputError, match="lower case"):
            type("Shouty", (BaseCAM,), {"name": "Shouty-CAM"})

        class MyCAM(BaseCAM):  # defined again, as a rerun notebook cell does
            name = "mycam"

        assert METHODS["mycam"] is MyCAM
    finally:
        METHODS.pop("mycam", None)
        registry.ALIASES.pop("mycamx", None)
    assert list(METHODS) == LISTED
