"""Run pytorch-grad-cam's own test suite against camlens' compat module and against itself.

The suite's code stays outside this repository: pass the folder that holds its ``tests/`` (a clone
of jacobgil/pytorch-grad-cam, or the grad-cam 1.5.7 sdist: ``pip download grad-cam==1.5.7
--no-binary :all: --no-deps``). Its tests read ``examples/both.png``; the image is taken from that
folder, else from ``--image`` (e.g. ``../shared/data/photos/both.png``).

Each side runs in its own temporary copy of the tests:

* ``ref``: the tests as they are (the installed ``pytorch_grad_cam``);
* ``compat``: the same files with only the import prefix rewritten, ``pytorch_grad_cam`` ->
  ``camlens.compat.pytorch_grad_cam``.

``--random-weights`` also rewrites ``weights="DEFAULT"`` to ``weights=None`` on both sides (tests
that would download torchvision's ImageNet weights then run offline on random weights); it is a
second, labelled run, not the acceptance run.

This checkout's ``src`` is put first on the tests' ``PYTHONPATH``. Usage::

    python scripts/pgc_suite.py /tmp/grad_cam-1.5.7 --image PHOTO [-k EXPR]

Prints, per test id, where it passed, and the counts: passed on the reference, passed on compat,
passed on the reference but not on compat (must be empty), failed on both.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

PREFIX = re.compile(r"(?<![\w.])pytorch_grad_cam\b")
COMPAT = "camlens.compat.pytorch_grad_cam"


def rewrite(source: str, *, compat: bool, random_weights: bool) -> str:
    """The test file's text for one side: the import prefix (compat) and, if asked, weights."""
    if compat:
        source = PREFIX.sub(COMPAT, source)
    if random_weights:
        source = re.sub(r"""weights\s*=\s*["']DEFAULT["']""", "weights=None", source)
        source = source.replace("pretrained=True", "weights=None")
    return source


def prepare(
    suite: Path, image: Path | None, dest: Path, *, compat: bool, random_weights: bool
) -> None:
    """Copy ``suite/tests`` into ``dest/tests`` (rewritten) and ``examples/both.png`` beside it."""
    (dest / "tests").mkdir(parents=True)
    for path in sorted((suite / "tests").glob("*.py")):
        text = rewrite(path.read_text(), compat=compat, random_weights=random_weights)
        (dest / "tests" / path.name).write_text(text)
    photo = suite / "examples" / "both.png"
    photo = photo if photo.exists() else image
    if photo is None or not photo.exists():
        raise SystemExit("examples/both.png not in the suite's folder: pass --image PATH")
    (dest / "examples").mkdir()
    shutil.copy(photo, dest / "examples" / "both.png")


def run(
    dest: Path,
    keyword: str | None = None,
    extra: Sequence[str] = (),
    paths: Sequence[str] = ("tests",),
    pythonpath: str | None = None,
) -> dict[str, str]:
    """Run pytest on ``paths`` in ``dest``; ``{test id: passed|failed|skipped}`` (JUnit XML).
    ``pythonpath`` is put first on the tests' ``PYTHONPATH`` (e.g. the checkout's ``src``)."""
    report = dest / "junit.xml"
    command = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"]
    command += ["--continue-on-collection-errors"]
    command += ["--junitxml", str(report), "-o", "junit_family=xunit2"]
    if keyword:
        command += ["-k", keyword]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # The tests run in ``dest``: relative entries of PYTHONPATH are made absolute first.
    entries = [pythonpath, *env.get("PYTHONPATH", "").split(os.pathsep)]
    env["PYTHONPATH"] = os.pathsep.join(str(Path(e).resolve()) for e in entries if e)
    subprocess.run([*command, *extra], cwd=dest, env=env, check=False)
    outcomes: dict[str, str] = {}
    root = ET.parse(report).getroot()
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        tags = {child.tag for child in case}
        outcome = "failed" if tags & {"failure", "error"} else "passed"
        outcomes[name] = "skipped" if "skipped" in tags else outcome
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", type=Path, help="folder with pytorch-grad-cam's tests/")
    parser.add_argument("--image", type=Path, help="both.png if the folder has no examples/")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression for both sides")
    parser.add_argument("--random-weights", action="store_true", help='weights="DEFAULT" -> None')
    parser.add_argument("--side", choices=["both", "ref", "compat"], default="both")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="pgc-suite-") as tmp:
        for side in ("ref", "compat"):
            if args.side not in ("both", side):
                continue
            dest = Path(tmp) / side
            prepare(
                args.suite,
                args.image,
                dest,
                compat=side == "compat",
                random_weights=args.random_weights,
            )
            src = str(Path(__file__).resolve().parents[1] / "src")  # this checkout's camlens
            results[side] = run(dest, args.keyword, args.pytest_args, pythonpath=src)

    ref, compat = results.get("ref", {}), results.get("compat", {})
    names = sorted(set(ref) | set(compat))
    regressions = [n for n in names if ref.get(n) == "passed" and compat.get(n) != "passed"]
    both_fail = [n for n in names if ref.get(n) == "failed" and compat.get(n) == "failed"]
    for name in regressions:
        print(f"REGRESSION {name}: ref passed, compat {compat.get(name, 'missing')}")
    for name in names:
        if ref.get(name) == "failed" and compat.get(name) == "passed":
            print(f"compat only {name}")
    print(
        f"tests: {len(names)}  passed on reference: {sum(v == 'passed' for v in ref.values())}  "
        f"passed on compat: {sum(v == 'passed' for v in compat.values())}  "
        f"passed on reference, not on compat: {len(regressions)}  failed on both: {len(both_fail)}"
    )
    return 1 if regressions else 0


if __name__ == "__main__":
    raise SystemExit(main())
