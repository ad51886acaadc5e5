"""The API reference (docs/api/*.md, built by `make docs`) covers every public name.

Each public package's page renders the package (mkdocstrings documents its ``__all__``), and the
``camlens`` page either links a top-level name to the package that documents it or renders it.
A new public package or name without a place in the reference fails here; a broken reference
fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
PACKAGES = [
    "methods", "targets", "metrics", "pixel", "viz", "evaluation", "training", "datasets", "zoo",
    "audit", "serve", "keras", "onnx", "jax", "models", "errors",
]  # fmt: skip
_DIRECTIVE = re.compile(r"^::: (camlens(?:\.\w+)*)\s*$", re.M)
_LINK = re.compile(r"\[`(\w+)`\]\[(camlens\.\w+\.\w+)\]")


def test_every_public_package_has_a_page_that_renders_it():
    for name in PACKAGES:
        page = API / f"{name}.md"
        assert page.is_file(), f"docs/api/{name}.md is missing"
        assert f"camlens.{name}" in _DIRECTIVE.findall(page.read_text(encoding="utf-8"))
        assert f"api/{name}.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_every_top_level_name_is_linked_or_rendered():
    import camlens

    text = (API / "camlens.md").read_text(encoding="utf-8")
    rendered = {d.removeprefix("camlens.") for d in _DIRECTIVE.findall(text)}
    linked = dict(_LINK.findall(text))
    exported = {
        name: package
        for package in PACKAGES
        for name in importlib.import_module(f"camlens.{package}").__all__
    }
    for name in camlens.__all__:
        if name in rendered:
            continue
        assert name in linked, (
            f"camlens.{name} is neither rendered nor linked in docs/api/camlens.md"
        )
        package = linked[name].split(".")[1]
        assert name in importlib.import_module(f"camlens.{package}").__all__, linked[name]
        assert name in exported
    assert not set(linked) - set(camlens.__all__), "docs/api/camlens.md links a name camlens lacks"


def test_api_pages_have_no_python_blocks():
    # tests/test_docs.py runs every ```python block of docs/; the reference pages hold none.
    for page in API.glob("*.md"):
        assert "```python" not in page.read_text(encoding="utf-8"), page.name


# Public classes whose docstring still lacks an example (issue #13 item 7); remove a name when
# its example lands. Nothing may be added here.
_EXAMPLE_PENDING = {
    "camlens.audit.runner.AuditResult",
    "camlens.keras.torch_backend.KerasTorchAdapter",
    "camlens.models._loaded.LoadedModel",
    "camlens.models._registry.ModelSource",
}


def _public_classes() -> dict[str, type]:
    import camlens

    modules = [camlens, *(importlib.import_module(f"camlens.{p}") for p in PACKAGES)]
    found: dict[str, type] = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and not issubclass(obj, BaseException | Warning):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


def test_every_public_class_has_an_example_in_its_docstring():
    classes = _public_classes()
    assert len(classes) > 100  # the methods, targets, metrics, ... are all seen
    missing = sorted(name for name, cls in classes.items() if "Example" not in (cls.__doc__ or ""))
    assert set(missing) <= _EXAMPLE_PENDING, f"public classes without an Example: {missing}"
    assert not _EXAMPLE_PENDING - set(missing), "documented now: drop from _EXAMPLE_PENDING"
