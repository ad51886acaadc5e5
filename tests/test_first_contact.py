"""A new user's first minutes (issue #12, items 10-12): start-up, ``python -m camlens``, extras.

Run in subprocesses, as a user would. A missing package is simulated with ``sys.modules[name] =
None`` (Python then raises ``ModuleNotFoundError`` for it, as when it is not installed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")


def python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([SRC, environment.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def cli_without(modules: list[str], *args: str, env: dict[str, str] | None = None):
    """``camlens ARGS`` with ``modules`` made unimportable."""
    code = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    sys.modules[name] = None\n"
        "from camlens.cli import main\n"
        "main(sys.argv[1:], prog_name='camlens')\n"
    )
    return python(code, *args, env=env)


def one_error_line(run: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, run.stderr
    return errors[0]


# --- start-up ---------------------------------------------------------------------------------


def test_python_dash_m_camlens_help_lists_every_command():
    run = subprocess.run(
        [sys.executable, "-m", "camlens", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Usage: camlens ")
    for name in ("audit", "compare", "demo", "evaluate", "explain", "layers", "serve", "weights"):
        assert f"\n  {name} " in run.stdout, name


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["explain", "--help"]])
def test_help_and_version_import_neither_torch_nor_numpy(args):
    """What made ``camlens --help`` take 4 s: importing torch. Checked by module, not by time."""
    code = (
        "import sys\n"
        "from camlens.cli import main\n"
        "try:\n"
        f"    main({args!r}, prog_name='camlens')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'PIL', 'matplotlib') if m in sys.modules)\n"
        "print('heavy:', heavy, file=sys.stderr)\n"
        "assert not heavy, heavy\n"
    )
    run = python(code)
    assert run.returncode == 0, run.stderr
    if args == ["--version"]:
        assert "camlens, version 0.1.0" in run.stdout


def test_import_camlens_is_lazy_but_the_api_is_unchanged():
    code = (
        "import sys, camlens\n"
        "assert 'torch' not in sys.modules\n"
        "assert camlens.CamlensError.__module__ == 'camlens.errors'\n"
        "from camlens import GradCAM, ClassTarget, evaluate\n"
        "assert 'torch' in sys.modules\n"
        "assert GradCAM.__module__ == 'camlens.methods.gradcam'\n"
        "assert camlens.viz.overlay is not None and camlens.evaluate is evaluate\n"
        "missing = [n for n in camlens.__all__ if not hasattr(camlens, n)]\n"
        "assert not missing, missing\n"
        "assert set(camlens.__all__) <= set(dir(camlens))\n"
        "import camlens.explain\n"  # the submodule must not replace the function
        "assert callable(camlens.explain) and camlens.explain.__name__ == 'explain'\n"
        "try:\n"
        "    camlens.nope\n"
        "except AttributeError as exc:\n"
        "    assert 'nope' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    run = python(code)
    assert run.returncode == 0, run.stderr


# --- extras -------------------------------------------------------------------------------------


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_extra_named_by_camlens_extras_exists_and_installs_that_package():
    from camlens.extras import EXTRA_OF_MODULE

    extras = _pyproject()["project"]["optional-dependencies"]

    def closure(name: str, seen: set[str]) -> str:
        text = []
        for requirement in extras[name]:
            if requirement.startswith("camlens["):
                for inner in requirement[len("camlens[") : requirement.index("]")].split(","):
                    if inner not in seen:
                        seen.add(inner)
                        text.append(closure(inner, seen))
            text.append(requirement.lower())
        return " ".join(text)

    distribution = {"skimage": "scikit-image", "sklearn": "scikit-learn"}
    distribution |= {"multipart": "python-multipart", "python_multipart": "python-multipart"}
    distribution |= {"fastapi_offline": "fastapi-offline"}
    for module, extra in EXTRA_OF_MODULE.items():
        assert extra in extras, (module, extra)
        assert distribution.get(module, module) in closure(extra, {extra}), (module, extra)


def test_all_extra_holds_every_user_extra():
    extras = _pyproject()["project"]["optional-dependencies"]
    users = {"torchvision", "timm", "demo", "evaluate", "serve", "audit", "keras"}
    users |= {"onnx", "jax", "ray", "lime"}
    assert users <= set(extras)
    (requirement,) = extras["all"]
    assert set(requirement[len("camlens[") : -1].split(",")) == users


def test_package_metadata_is_ready_for_a_registry():
    project = _pyproject()["project"]
    # camlens has no public home yet: the metadata names no address rather than a made-up one
    # (it named github.com/camlens/camlens, which does not exist)
    assert "urls" not in project
    assert any(c.startswith("Programming Language :: Python :: 3") for c in project["classifiers"])
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "src" / "camlens" / "py.typed").is_file()
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]["camlens"]
    assert "py.typed" in package_data
    # Every image the README shows exists: a file of the repository (relative links, which
    # render in a clone and on a forge; absolute ones once there is a real address)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    assert images and "camlens/camlens" not in readme
    for link in images:
        assert link.startswith("https://") or (ROOT / link).is_file(), link


def test_require_names_the_extra():
    from camlens.extras import MissingDependencyError, require

    with pytest.raises(MissingDependencyError) as info:
        require("uvicorn_not_a_module_xyz", "camlens serve", extra="serve")
    assert "pip install 'camlens[serve]'" in str(info.value)
    assert info.value.extra == "serve"
    assert isinstance(info.value, ImportError)


def test_serve_without_the_serve_extra_names_it():
    run = cli_without(["uvicorn", "fastapi"], "serve", "--model", "benchmark-clean", "--port", "0")
    line = one_error_line(run)
    assert "[serve]" in line and "pip install 'camlens[serve]'" in line, line
    assert "ModuleNotFoundError" not in line
    assert run.returncode == 4


def test_layers_of_a_torchvision_name_without_torchvision_names_the_extra():
    run = cli_without(["torchvision"], "layers", "resnet50")
    line = one_error_line(run)
    assert "unknown model" not in line
    assert "pip install 'camlens[torchvision]'" in line, line
    assert run.returncode == 4


def test_explain_demo_without_torchvision_blames_torchvision_not_the_weights(tmp_path):
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (40, 30), "red").save(image)
    env = {"TORCH_HOME": str(tmp_path / "empty-torch-home")}  # and no weights either
    for args in (["explain", str(image), "--model", "demo"], ["demo", "--out", str(tmp_path)]):
        run = cli_without(["torchvision"], *args, env=env)
        line = one_error_line(run)
        assert "torchvision" in line and "pip install 'camlens[" in line, line
        assert "weights" not in line.lower(), line
        assert run.returncode == 4


def test_a_missing_submodule_dependency_names_the_extra_from_python():
    code = (
        "import sys\n"
        "sys.modules['fastapi'] = None\n"
        "import camlens\n"
        "from camlens.extras import MissingDependencyError\n"
        "try:\n"
        "    camlens.serve\n"
        "except MissingDependencyError as exc:\n"
        "    assert \"pip install 'camlens[serve]'\" in str(exc), exc\n"
        "    assert exc.extra == 'serve'\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    run = python(code)
    assert run.returncode == 0, run.stderr
