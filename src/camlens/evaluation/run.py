"""``camlens.evaluate``: every chosen method × every chosen metric over a data set.

Per batch: one forward without gradients (predictions, accuracy), then for each method its maps
— computed once and shared by every metric — then each metric's ``update``. Per method and
metric one fresh accumulator; ``compute()`` at the end gives the table.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.base import BaseCAM
from ..core.capture import ReshapeTransform, model_logits
from ..core.errors import InvalidInputError, TargetError
from ..core.layers import LayersSpec
from ..methods import get_method
from ..targets import ClassTarget
from . import data as data_module
from .data import Batch
from .result import EvaluationResult

DEFAULT_METHODS: tuple[str, ...] = (
    "gradcam",
    "gradcam++",
    "xgradcam",
    "layercam",
    "eigencam",
    "randomcam",
)
# The default metrics; those whose needs the data cannot meet (masks, boxes) are left out.
DEFAULT_METRICS: tuple[str, ...] = (
    "average_drop",
    "increase_in_confidence",
    "deletion",
    "insertion",
    "pointing_game",
    "energy_pointing_game",
    "sparseness",
)
TARGET_MODES = ("label", "predicted")
MapFunction = Callable[[Tensor, list[ClassTarget]], Tensor]
MethodSpec = str | type[BaseCAM] | BaseCAM | MapFunction


def _registry() -> dict[str, Any]:
    from .. import metrics

    return dict(getattr(metrics, "METRICS", {}))


def _metric_factory(spec: Any, kwargs: Mapping[str, Any]) -> tuple[str, Callable[[], Any]]:
    """``(name, make)`` for a metric name, a Metric class or a Metric instance (copied per use)."""
    if isinstance(spec, str):
        registry = _registry()
        key = spec.lower().replace("-", "_")
        if key not in registry:
            raise InvalidInputError(
                f"unknown metric {spec!r}; known: {', '.join(registry) or '(none registered)'}."
            )
        cls = registry[key]
        return key, lambda: cls(**kwargs)
    if isinstance(spec, type):
        name = getattr(spec, "name", "") or spec.__name__
        return name, lambda: spec(**kwargs)
    if hasattr(spec, "update") and hasattr(spec, "compute"):
        name = getattr(spec, "name", "") or type(spec).__name__

        def fresh() -> Any:
            metric = copy.deepcopy(spec)
            metric.reset()
            return metric

        return name, fresh
    raise InvalidInputError(
        f"a metric must be a name, a Metric class or a Metric instance, not {type(spec).__name__}."
    )


def _method_name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, type):
        return spec.__name__
    if isinstance(spec, BaseCAM):
        return type(spec).__name__
    return getattr(spec, "__name__", type(spec).__name__)


def _layers_for(spec: Any, target_layers: LayersSpec | None) -> LayersSpec | None:
    """The CAM layers for a CAM; ``None`` (every attention block) for an attention method."""
    from ..methods._attention import AttentionMethod

    is_attention = isinstance(spec, type) and issubclass(spec, AttentionMethod)
    return None if is_attention or isinstance(spec, AttentionMethod) else target_layers


def _build_method(
    spec: Any,
    model: nn.Module,
    target_layers: LayersSpec | None,
    reshape_transform: ReshapeTransform | None,
    kwargs: Mapping[str, Any],
) -> Any:
    if isinstance(spec, str):
        try:
            spec = get_method(spec)
        except KeyError as exc:
            raise InvalidInputError(str(exc.args[0])) from None
    if isinstance(spec, type):
        return spec(model, _layers_for(spec, target_layers), reshape_transform, **kwargs)
    if callable(spec):
        return spec
    raise InvalidInputError(
        f"a method must be a name, a CAM class, a CAM instance or a function (inputs, targets) -> "
        f"maps, not {type(spec).__name__}."
    )


def _rerun_spec(
    cam: Any,
    target_layers: LayersSpec | None,
    reshape_transform: ReshapeTransform | None,
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """``update()`` keywords that let a metric re-run the method on another model or input
    (sanity checks, coherency, ARCC): a CAM class with its options, or a callable
    ``(model, inputs, targets) -> maps`` (see :mod:`camlens.metrics._method`)."""
    if isinstance(cam, BaseCAM):
        names = getattr(cam.adapter, "layer_names", None) or _layers_for(cam, target_layers)
        options = {"target_layers": names, "reshape_transform": reshape_transform, **kwargs}
        return {"method": type(cam), "method_kwargs": options}

    def run(model: nn.Module, inputs: Tensor, targets: Tensor) -> Tensor:
        return cam(inputs, [ClassTarget(int(c)) for c in torch.as_tensor(targets).tolist()])

    return {"method": run, "method_kwargs": None}


def _layer_names(cam: Any) -> list[str] | None:
    """The layers a CAM explained (``None`` for a map function)."""
    return getattr(getattr(cam, "adapter", None), "layer_names", None)


def _methods(methods: Any) -> dict[str, Any]:
    if isinstance(methods, str | type) or (callable(methods) and not isinstance(methods, Mapping)):
        methods = [methods]
    if isinstance(methods, Mapping):
        named = dict(methods)
    else:
        named = {}
        for spec in methods:
            name = _method_name(spec)
            if name in named:
                raise InvalidInputError(f"method {name!r} is given twice.")
            named[name] = spec
    if not named:
        raise InvalidInputError("give at least one method, e.g. methods=('gradcam',).")
    return named


def _missing(requires: Iterable[str], batch: Batch, mask_key: str) -> list[str]:
    """What ``batch`` lacks of a metric's requirements (``[]`` when it has everything)."""
    masks = batch.get(mask_key) is not None
    boxes = batch.boxes is not None and mask_key == "masks"
    missing = []
    for need in requires:
        if need == "masks" and not masks:
            missing.append(mask_key)
        elif need == "boxes" and not boxes:
            missing.append("boxes")
        elif need == "masks_or_boxes" and not (masks or boxes):
            missing.append(f"{mask_key} or boxes" if mask_key == "masks" else mask_key)
    return missing


def _flatten(name: str, value: Any) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {f"{name}.{k}": float(v) for k, v in value.items()}
    return {name: float(value)}


def _mean_curve(metric: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(fractions (K,), mean curve (K,))`` of a metric that keeps per-image curves
    (``metric.curves`` (N, K), ``metric.fractions`` (K,): deletion, insertion), else ``None``."""
    curves = getattr(metric, "curves", None)
    if not isinstance(curves, Tensor) or curves.ndim != 2 or curves.numel() == 0:
        return None
    fractions = getattr(metric, "fractions", None)
    if isinstance(fractions, Tensor) and fractions.numel() == curves.shape[1]:
        x = fractions.double().cpu().numpy()
    else:
        x = np.linspace(0.0, 1.0, curves.shape[1])
    return x, curves.double().mean(dim=0).cpu().numpy()


def _targets_of(batch: Batch, logits: Tensor, mode: str | int) -> Tensor:
    if not isinstance(mode, str):  # one class for every image
        if int(mode) >= logits.shape[1]:
            raise TargetError(f"class {mode} is out of range for {logits.shape[1]} classes.")
        return torch.full((logits.shape[0],), int(mode), dtype=torch.long, device=logits.device)
    if mode == "label":
        if batch.labels is None:
            raise TargetError(
                "targets='label' but the data has no labels; give labels or targets='predicted'."
            )
        return batch.labels.to(logits.device)
    return logits.argmax(dim=1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate(
    model: nn.Module | Any,
    data: Any,
    *,
    methods: Sequence[MethodSpec] | Mapping[str, MethodSpec] = DEFAULT_METHODS,
    metrics: Sequence[Any] | None = None,
    target_layers: LayersSpec | None = None,
    targets: str | int = "label",
    batch_size: int = 32,
    device: str | torch.device | None = None,
    progress: bool = True,
    method_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    metric_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    preprocess: Callable[[Tensor], Tensor] | None = None,
    reshape_transform: ReshapeTransform | None = None,
    limit: int | None = None,
    mask_key: str = "masks",
    by_class: bool = False,
    class_names: Sequence[str] | None = None,
) -> EvaluationResult:
    """Score every method in ``methods`` with every metric in ``metrics`` over ``data``.

    Args:
        model: a classifier ``(B, C, H, W) -> (B, K)`` in eval mode, or a zoo entry (an object
            with ``.model`` and optionally ``.preprocess``, ``.target_layer``, ``.categories``).
        data: a benchmark set, a torch Dataset, a tensor of images or an iterable of batches
            (see :mod:`camlens.evaluation.data`).
        methods: names for :func:`camlens.get_method`, CAM classes, or a mapping name -> a name,
            class or function ``(inputs, targets) -> (B, H, W) maps``.
        metrics: names in ``camlens.metrics.METRICS``, Metric classes or instances. ``None``: the
            :data:`DEFAULT_METRICS` that the data supports (masks/boxes ones only with masks/boxes).
        target_layers: for the CAMs (``None``: the zoo entry's layer, else chosen automatically);
            attention methods (rollout, Chefer, LeGrad) always use every attention block.
        targets: ``"label"`` (explain the true class), ``"predicted"`` (the top-1 class), or a
            class index explained on every image (e.g. a biased class).
        batch_size: images per batch (data sets and tensors; iterables keep their batches).
        device: run there (moves the model); ``None``: where the model's parameters are.
        method_kwargs: ``{name: {kwarg: value}}`` passed to the methods' constructors.
        metric_kwargs: ``{name: {kwarg: value}}`` passed to the metrics' constructors.
        preprocess: applied to each image batch before the model sees it (e.g. normalisation);
            metrics get the preprocessed inputs.
        limit: evaluate at most this many images.
        mask_key: the batch field metrics get as ``masks``: ``"masks"`` (the objects) or
            ``"cue_masks"`` (where a spurious cue is: the energy there measures a bias).
        by_class: also score each class (by label) separately (``result.by_class``).
        class_names: names of the class indices for ``by_class`` (default: ``data.classes`` or
            the zoo entry's categories).
        progress: show a progress bar (tqdm) while the images are evaluated.
        reshape_transform: turns a layer's tokens into ``(B, C, h, w)`` maps for the CAMs (ViTs);
            ``None``: chosen from the layer's output shape.

    Returns:
        :class:`EvaluationResult` (``.table``, ``.to_markdown()``, ``.to_csv()``, ``.plot()``).
    """
    start_wall = time.perf_counter()
    if not isinstance(model, nn.Module) and isinstance(getattr(model, "model", None), nn.Module):
        entry = model  # a zoo entry (camlens.zoo.load) or a camlens.loading.LoadedModel
        model = entry.model
        if preprocess is None and getattr(entry, "preprocess", None) is not None:
            from ..zoo import Preprocess

            if not isinstance(entry.preprocess, Preprocess):
                raise InvalidInputError(
                    "this model's preprocess takes PIL images, not batches: pass the model "
                    "(entry.model) and data already preprocessed, or preprocess=a batch function."
                )
            preprocess = entry.preprocess
        target_layers = target_layers if target_layers is not None else entry.target_layer
        class_names = class_names or getattr(entry, "categories", None)
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
    fixed_class = isinstance(targets, int) and not isinstance(targets, bool) and targets >= 0
    if targets not in TARGET_MODES and not fixed_class:
        raise InvalidInputError(
            f"targets must be one of {TARGET_MODES} or a class index (int >= 0), got {targets!r}."
        )
    if mask_key not in ("masks", "cue_masks"):
        raise InvalidInputError(f"mask_key must be 'masks' or 'cue_masks', got {mask_key!r}.")
    if device is not None:
        device = torch.device(device)
        model.to(device)
    else:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    class_names = class_names or getattr(data, "classes", None)
    method_kwargs = dict(method_kwargs or {})
    metric_kwargs = dict(metric_kwargs or {})

    named_methods = _methods(methods)
    cams = {
        name: _build_method(
            spec, model, target_layers, reshape_transform, method_kwargs.get(name, {})
        )
        for name, spec in named_methods.items()
    }
    explicit = metrics is not None
    factories = {}
    for spec in metrics if explicit else [m for m in DEFAULT_METRICS if m in _registry()]:
        name, _ = _metric_factory(spec, {})
        name, make = _metric_factory(spec, metric_kwargs.get(name, {}))
        if name in factories:
            raise InvalidInputError(f"metric {name!r} is given twice.")
        factories[name] = make
    if not factories:
        raise InvalidInputError("no metric to compute: give metrics=... (see camlens.metrics).")
    requires = {
        name: frozenset(getattr(make(), "requires", ())) for name, make in factories.items()
    }

    total = data_module.count(data)
    if total is not None and limit is not None:
        total = min(total, limit)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="img", desc="evaluate", disable=not progress, leave=False)
    state: dict[str, dict[str, Any]] = {}  # method -> metric -> accumulator
    per_class: dict[str, dict[str, dict[int, Any]]] = {}  # for metrics without per_image
    seconds = dict.fromkeys(cams, 0.0)
    metric_seconds: dict[str, dict[str, float]] = {}  # with state, on the first batch
    all_labels: list[Tensor] = []
    skipped: dict[str, str] = {}
    n_images, correct, unlabelled = 0, 0, 0
    try:
        for batch in data_module.batches(data, batch_size, limit):
            if not state:  # first batch: settle which metrics the data supports
                for name in list(factories):
                    missing = _missing(requires[name], batch, mask_key)
                    if missing and explicit:
                        raise InvalidInputError(
                            f"metric {name!r} needs {' and '.join(missing)}, which the data does "
                            "not have; give them or leave the metric out."
                        )
                    if missing:
                        skipped[name] = f"needs {' and '.join(missing)}"
                        del factories[name]
                if not factories:
                    raise InvalidInputError(
                        f"none of the metrics fits the data: {skipped}; give masks/boxes or "
                        "choose model-based metrics (e.g. 'deletion')."
                    )
                state = {m: {k: make() for k, make in factories.items()} for m in cams}
                metric_seconds = {m: dict.fromkeys(factories, 0.0) for m in cams}
            images = batch.images.to(device)
            inputs = preprocess(images) if preprocess is not None else images
            with torch.inference_mode():
                logits = model_logits(model(inputs)).float()
            predicted = logits.argmax(dim=1)
            index = _targets_of(batch, logits, targets)
            if batch.labels is not None:
                correct += int((predicted == batch.labels.to(device)).sum())
                all_labels.append(batch.labels.cpu())
            else:
                unlabelled += len(batch)
                all_labels.append(predicted.cpu())
            target_list = [ClassTarget(int(c)) for c in index.tolist()]
            masks = batch.get(mask_key)
            masks = masks.to(device) if masks is not None else None
            boxes = batch.boxes if mask_key == "masks" else None
            for method, cam in cams.items():
                bar.set_postfix_str(method, refresh=False)
                _sync(device)
                tick = time.perf_counter()
                maps = cam(inputs, target_list)
                _sync(device)
                seconds[method] += time.perf_counter() - tick
                maps = torch.as_tensor(maps).detach().to(device)
                extra = {
                    "inputs": inputs,
                    "maps": maps,
                    "targets": index,
                    "model": model,
                    "masks": masks,
                    "boxes": boxes,
                    **_rerun_spec(
                        cam, target_layers, reshape_transform, method_kwargs.get(method, {})
                    ),
                }
                for name, metric in state[method].items():
                    tick = time.perf_counter()
                    metric.update(**extra)
                    if by_class and not hasattr(metric, "per_image"):
                        _update_per_class(per_class, method, name, factories[name], extra, batch)
                    metric_seconds[method][name] += time.perf_counter() - tick
            n_images += len(batch)
            bar.update(len(batch))
    finally:
        bar.close()
    if n_images == 0:
        raise InvalidInputError("the data yielded no images.")

    scores: dict[str, dict[str, float]] = {}
    directions: dict[str, bool] = {}
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    by_class_scores: dict[str, dict[Any, dict[str, float]]] = {}
    labels = torch.cat(all_labels)
    for method, accumulators in state.items():
        scores[method] = {}
        by_class_scores[method] = {}
        for name, metric in accumulators.items():
            tick = time.perf_counter()
            values = _flatten(name, metric.compute())
            metric_seconds[method][name] += time.perf_counter() - tick
            scores[method].update(values)
            for column in values:
                directions[column] = bool(getattr(metric, "higher_is_better", True))
            curve = _mean_curve(metric)
            if curve is not None:
                curves.setdefault(name, {})[method] = curve
            if by_class:
                _by_class(
                    by_class_scores[method], name, metric, labels, per_class, method, class_names
                )
    return EvaluationResult(
        scores=scores,
        directions=directions,
        seconds=seconds,
        metric_seconds=metric_seconds,
        curves=curves,
        by_class=by_class_scores if by_class else {},
        n_images=n_images,
        accuracy=correct / n_images if unlabelled == 0 else None,
        wall_seconds=time.perf_counter() - start_wall,
        info={
            "targets": targets,
            "target_layers": {m: _layer_names(c) for m, c in cams.items()},
            "mask_key": mask_key,
            "class_names": list(class_names) if class_names is not None else None,
            "skipped_metrics": skipped,
            "batch_size": batch_size,
            "device": str(device),
        },
    )


def _update_per_class(
    per_class: dict[str, dict[str, dict[int, Any]]],
    method: str,
    name: str,
    make: Callable[[], Any],
    extra: dict[str, Any],
    batch: Batch,
) -> None:
    """Feed each class's rows of the batch to that class's own accumulator."""
    labels = extra["targets"] if batch.labels is None else batch.labels
    slots = per_class.setdefault(method, {}).setdefault(name, {})
    for cls in labels.unique().tolist():
        rows = (labels == cls).nonzero().flatten()
        rows_dev = rows.to(extra["inputs"].device)
        part = {
            k: (
                v[rows_dev]
                if isinstance(v, Tensor) and v.ndim and v.shape[0] == labels.shape[0]
                else v
            )
            for k, v in extra.items()
        }
        if isinstance(extra["boxes"], list):
            part["boxes"] = [extra["boxes"][i] for i in rows.tolist()]
        slots.setdefault(int(cls), make()).update(**part)


def _by_class(
    out: dict[Any, dict[str, float]],
    name: str,
    metric: Any,
    labels: Tensor,
    per_class: dict[str, dict[str, dict[int, Any]]],
    method: str,
    class_names: Sequence[str] | None,
) -> None:
    def key(cls: int) -> Any:
        return class_names[cls] if class_names is not None and cls < len(class_names) else cls

    if hasattr(metric, "per_image"):
        values = metric.per_image
        if values.numel() == labels.numel():
            for cls in labels.unique().tolist():
                chosen = values[labels == cls]
                out.setdefault(key(cls), {})[name] = float(chosen.mean())
            return
    for cls, accumulator in per_class.get(method, {}).get(name, {}).items():
        out.setdefault(key(cls), {}).update(_flatten(name, accumulator.compute()))
