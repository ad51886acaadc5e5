"""The model sources camlens knows, registered in order: file, demo, zoo, torchvision, timm.

- :class:`FileSource`: a path to a saved model: TorchScript (``torch.jit.save``), or a whole
  pickled module (``torch.save(model)``, loaded with ``weights_only=False`` after an
  :class:`UntrustedFileWarning`); a state-dict file given as the model is refused with a hint to
  pass an architecture name;
- :class:`DemoSource`: ``demo`` (and ``mobilenet_v2`` without weights): torchvision's ImageNet
  MobileNetV2 from the bundled checkpoint (:mod:`camlens.models._pretrained`);
- :class:`ZooSource`: a name of :mod:`camlens.models.zoo`, when that package exists;
- :class:`TorchvisionSource`: a torchvision classification model name (``resnet50``);
- :class:`TimmSource`: ``timm:NAME``, or any other timm model name when timm is installed
  (pretrained weights from the local Hugging Face cache, :mod:`camlens.models._hub`).

Each turns ``weights`` (an enum name, a local file, or ``"random"``) into a model without
downloading anything.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import (
    CamlensError,
    MissingDependencyError,
    ModelLoadError,
    UnknownModelError,
    UntrustedFileWarning,
    WeightsUnavailableError,
)
from ..extras import require
from ._hub import check_hub_file, hf_cached_file, hub_file
from ._loaded import DEFAULT_INPUT_SIZE, RANDOM, RANDOM_NOTE, LoadedModel
from ._registry import register_source
from ._weights import (
    classifier_key,
    existing_file,
    is_file_argument,
    is_torchscript,
    load_state,
    looks_like_path,
    output_classes,
    read_weights_file,
    sha256_of,
    state_dict_of,
)
from .transforms import ImagePreprocess, from_torchvision_transforms, imagenet_transforms

DEMO_LAYER = "features.18"  # MobileNetV2's last conv block (7x7), as camlens.demo uses
TIMM_PREFIX = "timm:"

# Grad-CAM's usual layer (the last convolutional block) for torchvision families, by name prefix.
TORCHVISION_LAYERS = {
    "resnet": "layer4",
    "resnext": "layer4",
    "wide_resnet": "layer4",
    "mobilenet_v2": "features.18",
    "mobilenet_v3": "features",
    "vgg": "features",
    "densenet": "features.norm5",
    "efficientnet": "features",
    "convnext": "features",
    "regnet": "trunk_output",
}


def unknown_model(spec: str, known: list[str]) -> UnknownModelError:
    """The error for a name no source claims, with close matches among ``known``."""
    close = difflib.get_close_matches(spec, list(dict.fromkeys(known)), n=5, cutoff=0.6)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    return UnknownModelError(
        f"unknown model {spec!r}: not a file, nor a camlens zoo, torchvision or timm model "
        f"name.{hint} See `camlens layers --help` for what a model may be."
    )


# --- file -----------------------------------------------------------------------------------


#: Loaders of model files by suffix (``"module:function"``, imported only when used; the function
#: takes ``(path, device, input_size)`` and returns a :class:`LoadedModel`); other files are
#: TorchScript or pickled modules.
FILE_LOADERS: dict[str, str] = {".onnx": "camlens.onnx.loading:load_onnx_file"}


class FileSource:
    """A saved model on disk (TorchScript or a pickled module); also refuses folders and paths
    that do not exist, so that a typo in a path never falls through to a model name."""

    name = "file"

    def claims(self, spec: str, weights: str | None) -> bool:
        path = Path(spec).expanduser()
        return (
            path.is_file()
            or path.is_dir()
            or (looks_like_path(spec) and not spec.startswith(TIMM_PREFIX))
        )

    def names(self) -> list[str]:
        return []

    def load(
        self, spec: str, weights: str | None, device: torch.device, input_size: int | None
    ) -> LoadedModel:
        path = Path(spec).expanduser()
        if path.is_file():
            if weights:
                raise ModelLoadError(
                    f"{spec} is a model file; weights cannot be given with it (pass an "
                    "architecture name with a state-dict file instead)."
                )
            loader = FILE_LOADERS.get(path.suffix.lower())
            if loader is not None:  # e.g. an ONNX graph (camlens.onnx)
                module, _, function = loader.partition(":")
                loaded: LoadedModel = getattr(importlib.import_module(module), function)(
                    path, device, input_size
                )
                return loaded
            return _from_saved_file(path, device, input_size)
        if path.is_dir():
            raise ModelLoadError(
                f"{spec} is a folder; pass a model file (torch.save(model)) or a model name."
            )
        raise UnknownModelError(f"no model file at {path}: the file does not exist.")


def _from_saved_file(path: Path, device: torch.device, input_size: int | None) -> LoadedModel:
    """A TorchScript archive or a whole pickled module."""
    size = input_size or DEFAULT_INPUT_SIZE
    preprocess, crop = imagenet_transforms(size)
    notes = [f"preprocessing: ImageNet mean/std, {size}x{size} center crop (--size to change)"]
    if is_torchscript(path):
        try:
            with warnings.catch_warnings():  # torch 2.10+ deprecates TorchScript; it still loads
                warnings.simplefilter("ignore", FutureWarning)
                model = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise ModelLoadError(f"cannot load the TorchScript file {path}: {exc}") from None
        kind = "TorchScript"
    else:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            payload = None  # not a plain state dict: a pickled module (or not a torch file)
        if payload is not None:
            raise ModelLoadError(
                f"{path} holds weights only (a state dict), not a model: pass the architecture "
                f"as the model and the file as weights, e.g. `--model resnet18 --weights {path}`."
            )
        warnings.warn(
            f"{path} is a pickled model: loading it runs code stored in the file "
            "(torch.load(weights_only=False)). Load only files you trust.",
            UntrustedFileWarning,
            stacklevel=4,  # the caller of load_model (load_model -> FileSource.load -> here)
        )
        try:
            model = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise ModelLoadError(
                f"cannot load {path}: {reason}. Expected a TorchScript file, a model saved with "
                "torch.save(model), or a state dict with an architecture name."
            ) from None
        if not isinstance(model, nn.Module):
            raise ModelLoadError(
                f"{path} holds a {type(model).__name__}, not a torch model (nn.Module)."
            )
        kind = "pickled module"
    return LoadedModel(
        model=model,
        name=path.name,
        categories=None,
        preprocess=preprocess,
        input_size=size,
        device=device,
        weights=str(path),
        weights_sha256=sha256_of(path),
        target_layer=None,
        crop=crop,
        notes=[f"{kind} {path}", *notes],
    )


# --- demo -----------------------------------------------------------------------------------


class DemoSource:
    """``demo`` (and ``mobilenet_v2`` without weights): the bundled ImageNet MobileNetV2."""

    name = "demo"

    def claims(self, spec: str, weights: str | None) -> bool:
        return spec == "demo" or (spec == "mobilenet_v2" and not weights)

    def names(self) -> list[str]:
        return ["demo"]

    def load(
        self, spec: str, weights: str | None, device: torch.device, input_size: int | None
    ) -> LoadedModel:
        from . import _pretrained as pretrained

        path = Path(weights).expanduser() if weights else None
        try:
            model = pretrained.mobilenet_v2_imagenet(path, download=False)
        except pretrained.WeightsNotFoundError as exc:
            raise WeightsUnavailableError(str(exc)) from None
        except pretrained.WeightsChecksumError as exc:
            raise ModelLoadError(str(exc)) from None
        except pretrained.MissingDependencyError as exc:
            raise ModelLoadError(str(exc)) from None
        file = path or pretrained.hub_checkpoint()
        preprocess, crop = imagenet_transforms(pretrained.CROP_SIZE)
        return LoadedModel(
            model=model,
            name="mobilenet_v2",
            categories=pretrained.imagenet_categories(),
            preprocess=preprocess,
            input_size=pretrained.CROP_SIZE,
            device=device,
            weights=str(file),
            weights_sha256=pretrained.CHECKPOINT_SHA256,
            target_layer=DEMO_LAYER,
            crop=crop,
        )


# --- zoo ------------------------------------------------------------------------------------


def _zoo() -> Any | None:
    try:
        return importlib.import_module(f"{__package__}.zoo")
    except ModuleNotFoundError as exc:
        if exc.name in (f"{__package__}.zoo", __package__):
            return None
        raise


class ZooSource:
    """A name of :mod:`camlens.models.zoo` (``benchmark-biased``, ``cifar10-resnet20``, ...)."""

    name = "zoo"

    def names(self) -> list[str]:
        zoo = _zoo()
        if zoo is None or not hasattr(zoo, "names"):
            return []
        try:
            return list(zoo.names())
        except Exception:  # a half-written zoo must not break the rest
            return []

    def claims(self, spec: str, weights: str | None) -> bool:
        return spec in self.names()

    def load(
        self, spec: str, weights: str | None, device: torch.device, input_size: int | None
    ) -> LoadedModel:
        zoo = _zoo()
        if zoo is None:  # not reached: claims() found the name in the zoo
            raise UnknownModelError(f"unknown model {spec!r}: camlens.models.zoo is missing.")
        try:
            entry = zoo.load(spec, weights=weights, device=str(device))
        except CamlensError as exc:
            if isinstance(exc, ModelLoadError):
                raise
            raise ModelLoadError(str(exc)) from exc
        path = getattr(entry, "weights_path", None)
        size = getattr(entry, "input_size", None)
        return LoadedModel(
            model=entry.model,
            name=spec,
            categories=list(entry.categories) if getattr(entry, "categories", None) else None,
            preprocess=entry.preprocess,
            input_size=int(size) if size else None,
            device=device,
            weights=str(path) if path else weights,
            weights_sha256=getattr(entry, "weights_sha256", None),
            target_layer=getattr(entry, "target_layer", None),
            crop=getattr(entry, "crop", None),
        )


# --- torchvision ----------------------------------------------------------------------------


def _torchvision() -> Any:
    return require("torchvision", "torchvision models")


def torchvision_names() -> list[str]:
    """torchvision's classification model names ([] without torchvision)."""
    try:
        tv = _torchvision()
    except MissingDependencyError:
        return []
    return list(tv.models.list_models(module=tv.models))


def default_layer(name: str) -> str | None:
    """Grad-CAM's usual layer of a torchvision model, by its family (``None`` if unknown)."""
    for prefix, layer in TORCHVISION_LAYERS.items():
        if name.startswith(prefix):
            return layer
    return None


def torchvision_enum(name: str, weights: str) -> Any:
    """The weights enum member of torchvision model ``name`` that ``weights`` names."""
    tv = _torchvision()
    enum = tv.models.get_model_weights(name)
    member = weights.split(".")[-1] if "." in weights and not looks_like_path(weights) else weights
    try:
        return enum[member]
    except KeyError:
        known = ["DEFAULT", *enum.__members__]
        close = difflib.get_close_matches(member, known, n=3, cutoff=0.5)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise ModelLoadError(
            f"{name} has no weights named {weights!r}; known: {', '.join(known)}.{hint} "
            "Or pass a state-dict file, or 'random'."
        ) from None


class TorchvisionSource:
    """A torchvision classification model, with cached enum weights, a file, or ``random``."""

    name = "torchvision"

    def names(self) -> list[str]:
        return torchvision_names()

    def claims(self, spec: str, weights: str | None) -> bool:
        return spec in torchvision_names()

    def load(
        self, spec: str, weights: str | None, device: torch.device, input_size: int | None
    ) -> LoadedModel:
        name = spec
        tv = _torchvision()
        default = torchvision_enum(name, "DEFAULT")
        if not weights or not (weights.lower() == RANDOM or is_file_argument(weights)):
            enum = torchvision_enum(name, weights or "DEFAULT")
            file = hub_file(enum.url)
            if not file.is_file():
                raise WeightsUnavailableError(
                    f"the weights {type(enum).__name__}.{enum.name} of {name} are not on this "
                    f"machine and camlens does not download: put {Path(enum.url).name} (from "
                    f"{enum.url}) in {file.parent}/, or pass a local file with --weights FILE "
                    "(or --weights random)."
                )
            digest = check_hub_file(file, enum.url)
            model = tv.models.get_model(name, weights=enum)
            preprocess, crop, size = from_torchvision_transforms(enum.transforms())
            return LoadedModel(
                model=model,
                name=name,
                categories=list(enum.meta.get("categories") or []) or None,
                preprocess=preprocess,
                input_size=size,
                device=device,
                weights=f"{type(enum).__name__}.{enum.name}",
                weights_sha256=digest,
                target_layer=default_layer(name),
                crop=crop,
            )
        # random or own weights: the plain ImageNet-1k recipe (DEFAULT may be SWAG's 518)
        plain = type(default).__members__.get("IMAGENET1K_V1", default)
        preprocess, crop, size = from_torchvision_transforms(plain.transforms())
        if input_size and input_size != size:
            preprocess, crop = imagenet_transforms(input_size)
            size = input_size
        if weights.lower() == RANDOM:
            model = tv.models.get_model(name, weights=None)
            return LoadedModel(
                model=model, name=name, categories=list(default.meta["categories"]),
                preprocess=preprocess, input_size=size, device=device, weights=RANDOM,
                weights_sha256=None, target_layer=default_layer(name), crop=crop,
                notes=[RANDOM_NOTE],
            )  # fmt: skip
        path = existing_file(weights)
        state = state_dict_of(read_weights_file(path), path)
        model = tv.models.get_model(name, weights=None)
        classes = output_classes(state, classifier_key(model))
        expected = output_classes(model.state_dict(), classifier_key(model))
        if classes is not None and expected is not None and classes != expected:
            model = tv.models.get_model(name, weights=None, num_classes=classes)
        load_state(model, state, name, path)
        digest = sha256_of(path)
        categories = None
        for enum in type(default):  # a torchvision file under another name: its own categories
            if digest.startswith(Path(enum.url).stem.rsplit("-", 1)[-1]):
                categories = list(enum.meta["categories"])
        if categories is None and (classes or expected) == len(default.meta["categories"]):
            categories = list(default.meta["categories"])  # 1000 outputs: ImageNet's classes
        return LoadedModel(
            model=model,
            name=name,
            categories=categories,
            preprocess=preprocess,
            input_size=size,
            device=device,
            weights=str(path),
            weights_sha256=digest,
            target_layer=default_layer(name),
            crop=crop,
        )


# --- timm -----------------------------------------------------------------------------------


def _timm() -> Any | None:
    try:
        import timm
    except ImportError:
        return None
    return timm


def imagenet_names() -> list[str] | None:
    """ImageNet-1k's class names (from torchvision's metadata), ``None`` without torchvision."""
    try:
        tv = _torchvision()
    except MissingDependencyError:
        return None
    return list(tv.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


class TimmSource:
    """``timm:NAME``, or a bare timm model name (after torchvision's: ``resnet50`` is both)."""

    name = "timm"

    def names(self) -> list[str]:
        timm = _timm()
        return list(timm.list_models()) if timm is not None else []

    def claims(self, spec: str, weights: str | None) -> bool:
        if spec.startswith(TIMM_PREFIX):
            return True
        timm = _timm()
        return timm is not None and bool(timm.is_model(spec))

    def load(
        self, spec: str, weights: str | None, device: torch.device, input_size: int | None
    ) -> LoadedModel:
        name = spec.removeprefix(TIMM_PREFIX)
        timm = _timm()
        if timm is None:
            raise ModelLoadError(f"{name!r} needs timm: pip install timm.")
        if not timm.is_model(name) and not timm.list_models(name):
            raise unknown_model(f"timm:{name}", [f"timm:{n}" for n in timm.list_models()])
        digest = None
        notes: list[str] = []
        if weights is None or weights == "":
            cached = hf_cached_file(timm, name)
            if cached is None:
                cfg = timm.models.get_pretrained_cfg(name)
                where = getattr(cfg, "hf_hub_id", None) or name
                raise WeightsUnavailableError(
                    f"the pretrained weights of timm's {name} are not in the Hugging Face cache "
                    f"and camlens does not download: fetch them once (huggingface-cli download "
                    f"{where}), or pass a local file with --weights FILE (or --weights random)."
                )
            overlay = {"file": cached, "source": ""}  # the local file, never the hub
            model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay)
            label, digest = cached, sha256_of(Path(cached))
        elif weights.lower() == RANDOM:
            model = timm.create_model(name, pretrained=False)
            label, notes = RANDOM, [RANDOM_NOTE]
        else:
            path = existing_file(weights)
            state = state_dict_of(read_weights_file(path), path)
            model = timm.create_model(name, pretrained=False)
            classes = output_classes(state, classifier_key(model))
            if classes is not None and classes != getattr(model, "num_classes", classes):
                model = timm.create_model(name, pretrained=False, num_classes=classes)
            load_state(model, state, name, path)
            label, digest = str(path), sha256_of(path)
        config = timm.data.resolve_data_config({}, model=model)
        if input_size:
            config["input_size"] = (3, input_size, input_size)
        transform = timm.data.create_transform(**config)
        steps = list(getattr(transform, "transforms", []))
        tensor_at = next(
            (i for i, t in enumerate(steps) if "ToTensor" in type(t).__name__), len(steps)
        )
        from torchvision.transforms import Compose

        crop = Compose(steps[:tensor_at])
        preprocess = ImagePreprocess(crop, config["mean"], config["std"])
        categories = None
        info = getattr(model, "pretrained_cfg", {}) or {}
        if info.get("num_classes") == 1000 and getattr(model, "num_classes", 0) == 1000:
            categories = imagenet_names()
        return LoadedModel(
            model=model,
            name=f"timm:{name}",
            categories=categories,
            preprocess=preprocess,
            input_size=int(config["input_size"][-1]),
            device=device,
            weights=label,
            weights_sha256=digest,
            target_layer=None,
            crop=crop,
            notes=notes,
        )


# The default order: a file first (a path never falls through to a name), the bundled demo, the
# zoo, torchvision, then timm (whose names overlap torchvision's).
for _source in (FileSource(), DemoSource(), ZooSource(), TorchvisionSource(), TimmSource()):
    register_source(_source)
del _source

__all__ = [
    "DEMO_LAYER",
    "TIMM_PREFIX",
    "TORCHVISION_LAYERS",
    "DemoSource",
    "FileSource",
    "TimmSource",
    "TorchvisionSource",
    "ZooSource",
    "default_layer",
    "imagenet_names",
    "torchvision_enum",
    "torchvision_names",
    "unknown_model",
]
