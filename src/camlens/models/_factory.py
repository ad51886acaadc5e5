"""Load a model from what a user types: ``load_model("resnet50")``, ``load_model("model.pt")``.

``load_model(spec, weights)`` asks the ordered registry of model sources
(:mod:`camlens.models._registry`) which one claims ``spec``, in this order:

1. ``file``: a path to a saved model: TorchScript (``torch.jit.save``), or a whole pickled
   module (``torch.save(model)``, loaded with ``weights_only=False`` after an
   :class:`UntrustedFileWarning`); a state-dict file given as ``spec`` is refused with a hint to
   pass an architecture name;
2. ``demo`` (and ``mobilenet_v2`` without ``weights``): torchvision's ImageNet MobileNetV2 from
   the bundled checkpoint (:mod:`camlens.models._pretrained`);
3. ``zoo``: a name of :mod:`camlens.models.zoo`;
4. ``torchvision``: a torchvision classification model name (``resnet50``);
5. ``timm``: ``timm:NAME``, or any other timm model name, when timm is installed.

``weights`` is a torchvision weights enum name (``IMAGENET1K_V1``, ``DEFAULT``,
``ResNet50_Weights.IMAGENET1K_V2``), a local file (a state dict, possibly under ``"state_dict"`` /
``"model"``, with or without DataParallel's ``module.`` prefix; ``.safetensors`` too), or
``"random"`` (the architecture with random weights, for trying things out). Nothing is ever
downloaded: torchvision and timm weights are used only when they are already in the local cache,
otherwise :class:`WeightsUnavailableError` names the file and where to put it.
"""

from __future__ import annotations

import importlib.util
from os import PathLike
from pathlib import Path

from ..errors import InvalidInputError, MissingDependencyError, UnknownModelError
from ..extras import install_hint
from . import _sources  # noqa: F401  (registers the default sources, in order)
from ._device import resolve_device
from ._loaded import LoadedModel
from ._registry import find_source, known_names
from ._sources import unknown_model


def read_labels(path: str | PathLike[str]) -> list[str]:
    """Class names from a text file, one a line (trailing blank lines dropped)."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the labels file {file}: {exc}.") from None
    labels = [line.strip() for line in text.splitlines()]
    while labels and not labels[-1]:
        labels.pop()
    if not labels:
        raise InvalidInputError(f"the labels file {file} is empty; write one class name a line.")
    return labels


def load_model(
    spec: str,
    weights: str | None = None,
    *,
    device: str = "cpu",
    labels: str | PathLike[str] | None = None,
    input_size: int | None = None,
) -> LoadedModel:
    """Build the model ``spec`` names, load ``weights``, and return it in eval mode on ``device``.

    See the module docstring for what ``spec`` and ``weights`` may be. ``labels``: a text file of
    class names, one a line, that replaces the weights' own. ``input_size``: the square side
    models of unknown preprocessing (saved files) get (default 224, ImageNet normalisation).

    Raises:
        UnknownModelError: the name is unknown (the message lists close matches).
        WeightsUnavailableError: the weights are not on this machine (names the file to provide).
        ModelLoadError: a file that is not a model / does not fit the architecture.
        DeviceError: the device does not exist here.
    """
    target = resolve_device(device)
    spec = str(spec).strip()
    weights = None if weights is None else str(weights).strip()
    if not spec:
        raise UnknownModelError("no model given: pass a model name or a file.")
    source = find_source(spec, weights)
    if source is not None:
        loaded = source.load(spec, weights, target, input_size)
    elif importlib.util.find_spec("torchvision") is None:
        raise MissingDependencyError(
            f"{spec!r} is not a model file nor a camlens zoo name, and torchvision and timm "
            "model names need torchvision, which is not installed; it comes from the "
            f"[torchvision] extra: {install_hint('torchvision')}.",
            extra="torchvision",
            name="torchvision",
        )
    else:
        raise unknown_model(spec, known_names())
    if labels is not None:
        loaded.categories = read_labels(labels)
    loaded.model = loaded.model.to(target).eval()
    loaded.device = target
    return loaded


__all__ = ["load_model", "read_labels"]
