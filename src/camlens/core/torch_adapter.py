"""The PyTorch adapter: one forward with hooks on the target layers, then ``torch.autograd.grad``
of the target scores with respect to the captured activations only.

It implements the contract of :mod:`camlens.core.contract` (:class:`~camlens.core.contract.Adapter`
in, :class:`~camlens.core.contract.Capture` out); the method math only ever sees the capture, never
the model. Also here: the capture recipe that every PyTorch capture shares (:func:`graph_mode`,
:func:`input_leaf`), and the head-once replay of the modules before a layer
(Ablation-CAM's ablated copies).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_map_only, tree_unflatten

from .contract import (
    CAPABILITIES,
    Capture,
    ReshapeTransform,
    check_input,
    model_logits,
    score_sets,
)
from .errors import (
    AutoLayerWarning,
    ConcurrentUseError,
    LayerNotReachedError,
    LayerOutputError,
    TargetError,
    TrainingModeWarning,
    warn_at_caller,
)
from .layers import LayersSpec, resolve_layers
from .reshape import auto_reshape


def mine(owner: int, module: nn.Module) -> bool:
    """Whether a hook call belongs to the forward pass of thread ``owner`` (the thread that
    installed the hook): hooks live on modules every thread shares, so a hook installed by one
    call must let other threads' forward passes through untouched. DataParallel replicas run in
    worker threads and count as the owner's."""
    return threading.get_ident() == owner or getattr(module, "_is_replica", False)


_FREEZE_LOCK = threading.Lock()
#: id(model) -> [model, users, the parameters frozen for them, differentiable users,
#: {thread id: its users}] (a thread's own nested calls, e.g. Shapley-CAM's, do not conflict)
_FROZEN: dict[int, list[Any]] = {}


def _modules_of(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` and every submodule once, as ``nn.Module.modules()`` but without its names and
    generator recursion: a tenth of its cost, paid on every call."""
    seen = {id(model)}
    stack = [model]
    while stack:
        module = stack.pop()
        yield module
        for child in module._modules.values():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append(child)


def _trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters with ``requires_grad``, each once (as ``model.parameters()``)."""
    seen: set[int] = set()
    found = []
    for module in _modules_of(model):
        for p in module._parameters.values():
            if p is not None and p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                found.append(p)
    return found


@contextlib.contextmanager
def frozen_parameters(model: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Set ``requires_grad=False`` on every parameter for the block, then restore it.

    With parameters frozen, the autograd graph starts at the first target layer: no parameter
    gradient is computed and parameters do not keep the graph alive. Calls on one model from
    several threads share the freeze: the first freezes, the last restores. A differentiable
    call (``enabled=False``) needs the parameters' gradients: while one runs, other calls leave
    the parameters as they are, and one cannot start while another thread has them frozen
    (:class:`ConcurrentUseError`).
    """
    tid = threading.get_ident()
    with _FREEZE_LOCK:
        entry = _FROZEN.get(id(model))
        if entry is None or entry[0] is not model:
            entry = _FROZEN[id(model)] = [model, 0, [], 0, {}]
        if not enabled:
            if entry[2] and any(t != tid for t in entry[4]):
                raise ConcurrentUseError(
                    "differentiable=True needs the model's parameter gradients, but another "
                    "thread is explaining with this model and has frozen them. Give each thread "
                    "its own copy of the model (copy.deepcopy) or hold a lock around the calls."
                )
            entry[3] += 1
        else:
            if entry[1] == 0 and entry[3] == 0:
                entry[2] = _trainable_parameters(model)
                for p in entry[2]:
                    p.requires_grad_(False)
            entry[1] += 1
            entry[4][tid] = entry[4].get(tid, 0) + 1
    try:
        yield
    finally:
        with _FREEZE_LOCK:
            if enabled:
                entry[1] -= 1
                entry[4][tid] -= 1
                if not entry[4][tid]:
                    del entry[4][tid]
            else:
                entry[3] -= 1
            if entry[1] == 0:
                for p in entry[2]:
                    p.requires_grad_(True)
                entry[2] = []
            if entry[1] == 0 and entry[3] == 0 and _FROZEN.get(id(model)) is entry:
                del _FROZEN[id(model)]


@contextlib.contextmanager
def graph_mode(
    model: nn.Module, *, track: bool = True, differentiable: bool = False
) -> Iterator[None]:
    """The capture recipe's context, shared by every PyTorch capture (layers, input, attention):
    out of ``inference_mode``, autograd on (``no_grad`` when not ``track``), and the model's
    parameters frozen unless ``differentiable`` (:func:`frozen_parameters`; not needed, and not
    done, under ``no_grad``)."""
    grad_mode = torch.enable_grad() if track else torch.no_grad()
    freeze = (
        frozen_parameters(model, enabled=not differentiable) if track else contextlib.nullcontext()
    )
    with torch.inference_mode(False), grad_mode, freeze:
        yield


def input_leaf(x: Tensor, differentiable: bool = False) -> Tensor:
    """The input as the leaf of an input-gradient graph (inside :func:`graph_mode`).

    ``differentiable`` and ``x`` requiring grad: ``x`` itself (the maps stay on the caller's
    graph). Otherwise a detached copy that requires grad; an inference tensor is cloned, which
    inside :func:`graph_mode` gives a normal tensor.
    """
    if differentiable and x.requires_grad:
        return x
    return (x.clone() if x.is_inference() else x.detach()).requires_grad_(True)


def _detach(differentiable: bool) -> Callable[[Tensor], Tensor]:
    return (lambda t: t) if differentiable else torch.Tensor.detach


def warn_if_training(model: nn.Module, what: str = "maps", stacklevel: int = 4) -> None:
    """Warn with :class:`TrainingModeWarning` if any leaf module is in training mode.

    A wrapper's own flag does not count (``nn.Sequential(model.eval())`` is fine).
    """
    if any(m.training for m in _modules_of(model) if not m._modules):
        warnings.warn(
            f"the model is in training mode: dropout and batch-norm make {what} depend on the "
            "batch and can change the model's statistics. Call model.eval() first.",
            TrainingModeWarning,
            stacklevel=stacklevel,
        )


@dataclass
class _Record:
    """One call of a target layer: its output flattened to leaves (tensors and anything else)."""

    leaves: list[Any]
    spec: Any  # torch.utils._pytree spec to rebuild the output's structure

    @property
    def tensors(self) -> list[Tensor]:
        return [leaf for leaf in self.leaves if isinstance(leaf, Tensor)]


class _LayerHooks:
    """Forward hooks that record each target layer's output and hand back a copy.

    An output may be a tensor or a structure of tensors (a dict of FPN levels, a tuple). Each
    floating tensor is made a graph leaf when nothing upstream requires grad (frozen model, input
    without grad), so the graph starts there. Downstream layers receive clones, so an in-place op
    after the layer (``ReLU(inplace=True)``) cannot change what was recorded.
    """

    def __init__(self, layers: Sequence[tuple[str, nn.Module]], track_graph: bool):
        self.layers = layers
        self.track_graph = track_graph
        self.records: list[list[_Record]] = [[] for _ in layers]
        self._lock = threading.Lock()
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self.owner = threading.get_ident()

    def __enter__(self) -> _LayerHooks:
        for index, (_, module) in enumerate(self.layers):
            self._handles.append(module.register_forward_hook(self._hook(index)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, index: int) -> Callable:
        name = self.layers[index][0]

        def hook(module: nn.Module, inputs: object, output: object) -> object:
            if not mine(self.owner, module):
                return None  # another thread's forward pass through the shared module
            leaves, spec = tree_flatten(output)
            if not any(isinstance(leaf, Tensor) for leaf in leaves):
                raise LayerOutputError(
                    f"layer {name!r} returned {type(output).__name__} with no tensor in it; "
                    "choose a layer whose output is a tensor (e.g. a submodule of this one)."
                )
            recorded, passed = [], []
            for leaf in leaves:
                if isinstance(leaf, Tensor):
                    if self.track_graph and not leaf.requires_grad and leaf.is_floating_point():
                        leaf = leaf.detach().requires_grad_(True)
                    passed.append(leaf.clone())
                else:
                    passed.append(leaf)
                recorded.append(leaf)
            with self._lock:
                self.records[index].append(_Record(recorded, spec))
            return tree_unflatten(passed, spec)

        return hook

    def activations(self) -> list[list[_Record]]:
        """Per layer, the recorded calls in batch order (several only under DataParallel)."""
        result = []
        for (name, _), records in zip(self.layers, self.records, strict=True):
            if not records:
                raise LayerNotReachedError(
                    f"the forward pass never ran layer {name!r}; pick a layer the model uses."
                )
            devices = [r.tensors[0].device for r in records]
            if len(set(devices)) != len(devices):
                raise LayerOutputError(
                    f"layer {name!r} ran {len(records)} times in one forward pass, so its map is "
                    "ambiguous; choose a layer that runs once per image."
                )
            result.append(sorted(records, key=lambda r: r.tensors[0].device.index or 0))
        return result


def _merge(records: list[_Record], tensors: Sequence[Tensor] | None = None) -> object:
    """Rebuild a layer's output structure over the whole batch (chunks concatenated).

    ``tensors``: replacements for the recorded tensors (e.g. their gradients), chunk-major.
    """
    per_chunk = len(records[0].tensors)
    merged = []
    for position in range(per_chunk):
        parts = [
            r.tensors[position] if tensors is None else tensors[c * per_chunk + position]
            for c, r in enumerate(records)
        ]
        merged.append(torch.cat(parts) if len(parts) > 1 else parts[0])
    it = iter(merged)
    leaves = [next(it) if isinstance(leaf, Tensor) else leaf for leaf in records[0].leaves]
    return tree_unflatten(leaves, records[0].spec)


class TorchAdapter:
    """Produce a :class:`Capture` from a PyTorch model."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None,
        reshape_transform: ReshapeTransform | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
        self.model = model
        #: Record, in a capture without gradients, the outputs of the modules that ran before
        #: each target layer (set by Ablation-CAM; see :meth:`head_for`).
        self.record_head = False
        self._heads: dict[int, HeadRecord] = {}  # per thread: its last capture's record
        self.layers = None if target_layers is None else resolve_layers(model, target_layers)
        self.reshape_transform = reshape_transform

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers or []]

    def prepare_input(self, x: object) -> Tensor:
        """PyTorch inputs pass unchanged (checked by :meth:`capture`)."""
        return x  # type: ignore[return-value]

    def ensure_layers(self, x: Tensor) -> None:
        """With ``target_layers=None``, pick the layer on the first input (and say which)."""
        if self.layers is not None:
            return
        from .discovery import choose_layer

        name = choose_layer(self.model, x)
        self.layers = resolve_layers(self.model, name)
        warn_at_caller(
            f"target_layers=None: explaining layer {name!r} of {type(self.model).__name__} "
            "(see camlens.layers(model, x) for the candidates).",
            AutoLayerWarning,
        )

    def reshape(self, output: object, input_shape: Sequence[int], name: str) -> Tensor:
        """A layer's output (or its gradient) as ``(B, C, *grid)``.

        ``reshape_transform`` gets the output as the layer returned it (a tensor, or e.g. a dict
        of FPN levels); without one, a tensor (or a structure holding exactly one tensor) is
        reshaped automatically.
        """
        if self.reshape_transform is not None:
            return self.reshape_transform(output)
        if not isinstance(output, Tensor):
            tensors = [t for t in tree_flatten(output)[0] if isinstance(t, Tensor)]
            if len(tensors) != 1:
                raise LayerOutputError(
                    f"layer {name!r} returned {type(output).__name__} holding {len(tensors)} "
                    "tensors; pass reshape_transform= to turn it into one (B, C, *grid) tensor."
                )
            output = tensors[0]
        return auto_reshape(output, input_shape, name)

    def capture(
        self,
        x: Tensor,
        target_sets: Sequence[object] | None,
        *,
        gradients: bool = True,
        differentiable: bool = False,
        rank_rows: Tensor | None = None,
    ) -> Capture:
        """Run one forward pass and, per target set, one ``autograd.grad`` to the layers.

        target_sets: a list of per-image target lists (``None`` items mean top-1); ``None`` means
        one set of top-1 targets. rank_rows: for each image, the row whose logits rank the
        classes for top-k targets (test-time augmentation ranks on the un-augmented image).
        """
        x = check_input(x)
        self.ensure_layers(x)
        warn_if_training(self.model, stacklevel=4)
        if x.is_inference():
            x = x.clone()
        track = gradients or differentiable
        recorder = (
            _HeadRecorder(self.model, self.layers)
            if self.record_head and not track
            else contextlib.nullcontext()
        )
        with (
            graph_mode(self.model, track=track, differentiable=differentiable),
            recorder,
            _LayerHooks(self.layers, track_graph=track) as hooks,
        ):
            output = self.model(x)
            chunks = hooks.activations()
            if isinstance(recorder, _HeadRecorder):
                self._heads[threading.get_ident()] = recorder.record(x)
            logits = model_logits(output)
            batch = x.shape[0]
            sets = [None] if target_sets is None else list(target_sets)
            if not sets:
                raise TargetError("target_sets is empty: give at least one set of targets.")
            if rank_rows is not None and not isinstance(logits, Tensor):
                raise TargetError(
                    "aug_smooth flips the images, which would move per-image outputs such as "
                    "detected boxes; explain this model without aug_smooth."
                )
            targets, scores = score_sets(sets, logits, batch, rank_rows)
            grads: list[list[object]] = []
            if gradients:
                for i, score in enumerate(scores):
                    keep = differentiable or i < len(scores) - 1
                    grads.append(self._grad(score, chunks, keep, differentiable))

        names = self.layer_names
        activations = [
            self.reshape(
                tree_map_only(Tensor, _detach(differentiable), _merge(records)), x.shape, n
            )
            for records, n in zip(chunks, names, strict=True)
        ]
        grads = [
            [self.reshape(g, x.shape, n) for g, n in zip(layer, names, strict=True)]
            for layer in grads
        ]
        if not differentiable:
            logits = tree_map_only(Tensor, torch.Tensor.detach, logits)
            scores = [s.detach() for s in scores]
        return Capture(x, logits, activations, grads, targets, scores, self.layer_names, self)

    def _grad(
        self,
        score: Tensor,
        chunks: list[list[_Record]],
        retain: bool,
        differentiable: bool,
    ) -> list[object]:
        """Per layer, the gradient of ``score.sum()`` in the structure of the layer's output."""
        if not score.requires_grad:
            raise LayerNotReachedError(
                "the target score does not depend on any target layer; check that the layers "
                "lie on the path from the input to the scored output."
            )
        flat = [t for records in chunks for r in records for t in r.tensors if t.requires_grad]
        found = iter(
            torch.autograd.grad(
                score.sum(),
                flat,
                retain_graph=retain,
                create_graph=differentiable,
                allow_unused=True,
            )
        )
        result = []
        for (name, _), records in zip(self.layers, chunks, strict=True):
            tensors = [r.tensors for r in records]
            grads = [next(found) if t.requires_grad else None for ts in tensors for t in ts]
            if all(g is None for g in grads):
                raise LayerNotReachedError(
                    f"the target score does not depend on layer {name!r}; pick a layer on the "
                    "path from the input to the scored output."
                )
            originals = [t for ts in tensors for t in ts]
            grads = [
                torch.zeros_like(t) if g is None else g
                for g, t in zip(grads, originals, strict=True)
            ]
            result.append(_merge(records, grads))
        return result

    # --- running the model again (perturbation methods) ----------------------------------------
    def head_for(self, x: Tensor, layer_index: int) -> HeadPlan | None:
        """What ran before target layer ``layer_index`` in this thread's last capture, if its
        input was ``x`` (recorded when ``record_head`` is set and the capture took no
        gradients), or ``None``."""
        record = self._heads.get(threading.get_ident())
        if record is None or record.input is not x:
            return None
        return record.plans.get(layer_index)

    def recorded_output(self, x: Tensor, layer_index: int, b: int) -> object | None:
        """Target layer ``layer_index``'s output for image ``b`` as this thread's last capture
        of ``x`` recorded it (with ``record_head``), or ``None``."""
        plan = self.head_for(x, layer_index)
        if plan is None:
            return None
        calls = [a for a in plan.calls.get(id(self.layers[layer_index][1]), []) if a is not _REAL]
        return plan.output(calls[0], b) if len(calls) == 1 else None

    def release_head(self) -> None:
        """Drop this thread's recorded outputs (their memory) once the method is done."""
        self._heads.pop(threading.get_ident(), None)

    @contextlib.contextmanager
    def from_head(
        self, plan: HeadPlan, b: int, x1: Tensor
    ) -> Iterator[Callable[[Callable[[Tensor], Tensor]], Tensor]]:
        """A function ``run(replace)`` giving the logits when target layer ``plan.layer_index``
        outputs ``replace(its output)`` for image ``b`` of the capture, with every module that
        ran before the layer in the capture *not* run again: it returns its recorded output
        (sliced to image ``b``). Only the rest of the network runs, on the replaced (larger)
        batch. ``x1`` is the image itself (the model is still called with it; code between
        module calls runs as usual). The modules are skipped for this thread only, while the
        block lasts.

        ``run(replace, grad=True)`` runs with autograd on instead of ``torch.inference_mode``
        (the graph starts at what ``replace`` returns, e.g. a leaf that requires grad).
        ``run`` raises :class:`LayerOutputError` when the recorded outputs were changed in place
        since (by the model's own code), when the model's code does not take them, or when the
        network after the layer does not keep the replaced batch; callers then re-run the
        network.
        """
        name = (self.layers or [])[plan.layer_index][0]

        with _skipping(plan, b) as state:

            def run(replace: Callable[[Tensor], Tensor], grad: bool = False) -> Tensor:
                if not plan.unchanged():
                    raise LayerOutputError(
                        f"the outputs recorded before layer {name!r} were changed in place."
                    )
                state.counts.clear()
                # any error: the model's code did not take the recorded outputs
                return self._run_replaced(
                    x1, plan.layer_index, replace, Exception, "on recorded outputs", grad=grad
                )

            yield run

    def predict(self, x: Tensor) -> Tensor:
        """Logits for a batch, under ``torch.inference_mode`` (no graph, no hooks)."""
        with torch.inference_mode():
            return model_logits(self.model(x))

    def predict_with_layer_output(
        self, x: Tensor, layer_index: int, replace: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits when target layer ``layer_index`` outputs ``replace(its output)`` instead.

        ``replace`` may return a larger batch (e.g. N ablated copies of one image's activations):
        the rest of the network then runs on that batch while everything before the layer ran
        once. Raises :class:`LayerOutputError` when the model's structure does not allow it (a
        tensor from before the layer joins the larger batch by concatenation, say, or the output
        batch is not the replaced batch); callers then fall back to a full re-run.
        """
        # a RuntimeError: a shape mismatch downstream of the layer
        return self._run_replaced(x, layer_index, replace, RuntimeError, "on a new batch")

    def _run_replaced(
        self,
        x: Tensor,
        layer_index: int,
        replace: Callable[[Tensor], Tensor],
        failure: type[Exception],
        what: str,
        grad: bool = False,
    ) -> Tensor:
        """Logits of ``self.model(x)`` under ``inference_mode`` (``grad``: with autograd on)
        with target layer
        ``layer_index`` outputting ``replace(its output)`` (in this thread); a ``failure`` of the
        model's code becomes a :class:`LayerOutputError` saying ``what`` the network ran on, and
        so does an output batch that is not the replaced one."""
        name, module = (self.layers or [])[layer_index]
        expected: list[int] = []
        owner = threading.get_ident()

        def hook(mod: nn.Module, inputs: object, output: object) -> Tensor | None:
            if not mine(owner, mod):
                return None  # another thread's forward pass: left alone
            new = replace(output)
            expected.append(_batch_of(new))
            return new

        handle = module.register_forward_hook(hook)
        try:
            with torch.enable_grad() if grad else torch.inference_mode():
                logits = model_logits(self.model(x))
        except LayerOutputError:
            raise
        except failure as error:
            raise LayerOutputError(
                f"cannot run the network from layer {name!r} {what}: {error}"
            ) from error
        finally:
            handle.remove()
        if len(expected) != 1 or len(logits) != expected[0]:
            raise LayerOutputError(
                f"the network after layer {name!r} did not keep the replaced batch "
                f"({expected} -> {logits.shape[0]} outputs)."
            )
        return logits


def _batch_of(output: object) -> int:
    """The batch size of a layer output: a tensor's first axis, or its first tensor's (dict)."""
    tensors = [t for t in tree_flatten(output)[0] if isinstance(t, Tensor)]
    return tensors[0].shape[0] if tensors else -1


# --- the part of the network before a layer, run once ------------------------------------------
_REAL = object()  # a module call that runs (an enclosing call of the layer, or after it)


@dataclass
class HeadPlan:
    """What the forward pass did before target layer ``layer_index`` started, for running the
    network again from that layer on (Ablation-CAM's ablated copies) without the part before it.

    calls: per module (by id), its calls before the layer in order, each the recorded output
        (returned again, not computed) or ``_REAL`` (a call that encloses the layer: it runs);
        calls nested inside a recorded call do not happen again. The layer's own call returns
        its recorded output too (the caller's hook replaces it).
    batch: the capture's batch size (outputs are sliced to one image when it is above 1).
    versions: the recorded tensors and their versions, to refuse outputs changed in place since.
    """

    layer_index: int
    modules: dict[int, nn.Module]
    calls: dict[int, list[object]]
    batch: int
    versions: list[tuple[Tensor, int]]

    def unchanged(self) -> bool:
        return all(t._version == v for t, v in self.versions)

    def output(self, action: object, b: int) -> object:
        if self.batch == 1:
            return action
        return tree_map_only(Tensor, lambda t: t[b : b + 1], action)


@dataclass
class HeadRecord:
    """One image's input and the plans of its target layers' heads (Ablation-CAM head-once)."""

    input: Tensor
    plans: dict[int, HeadPlan]


class _HeadRecorder:
    """Hooks on every module that record, when each target layer starts, which module calls had
    completed (their outputs) and which were still running (the layer's enclosing calls)."""

    def __init__(self, model: nn.Module, layers: Sequence[tuple[str, nn.Module]]) -> None:
        self.model = model
        self.owner = threading.get_ident()
        self.targets = {id(m): i for i, (_, m) in enumerate(layers)}
        self.open: list[tuple[nn.Module, int]] = []
        self.done: list[list[tuple[nn.Module, int, object]]] = [[]]
        self.counts: dict[int, int] = {}
        self.snapshots: dict[int, tuple[list, list, int]] = {}
        self.layer_outputs: dict[int, object] = {}
        self.bad: set[int] = set()
        self.broken = False
        self._handles: list[Any] = []

    def __enter__(self) -> _HeadRecorder:
        for m in self.model.modules():
            self._handles.append(m.register_forward_pre_hook(self._pre))
            self._handles.append(m.register_forward_hook(self._post))
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _recording(self) -> bool:
        return len(self.snapshots) < len(self.targets)

    def _pre(self, module: nn.Module, args: object) -> None:
        if threading.get_ident() != self.owner or self.broken:
            return
        index = self.counts.get(id(module), 0)
        self.counts[id(module)] = index + 1
        layer = self.targets.get(id(module))
        if layer is not None:
            if layer in self.snapshots:
                self.bad.add(layer)
            else:
                done = [list(frame) for frame in self.done]
                self.snapshots[layer] = (list(self.open), done, index)
        self.open.append((module, index))
        self.done.append([])

    def _post(self, module: nn.Module, args: object, output: object) -> None:
        if threading.get_ident() != self.owner or self.broken:
            return
        if not self.open or self.open[-1][0] is not module:
            self.broken = True  # a call we did not see start (hooks added mid-forward, ...)
            return
        _, index = self.open.pop()
        self.done.pop()
        layer = self.targets.get(id(module))
        if layer is not None and layer not in self.layer_outputs:
            self.layer_outputs[layer] = output
        if self._recording():
            self.done[-1].append((module, index, output))

    def record(self, x: Tensor) -> HeadRecord:
        batch = x.shape[0]
        plans = {}
        if not self.broken:
            for layer, (open_calls, done, layer_call) in self.snapshots.items():
                if layer in self.bad or layer not in self.layer_outputs:
                    continue
                plan = self._plan(layer, open_calls, done, layer_call, batch)
                if plan is not None:
                    plans[layer] = plan
        return HeadRecord(x, plans)

    def _plan(
        self, layer: int, open_calls: list, done: list, layer_call: int, batch: int
    ) -> HeadPlan | None:
        entries: dict[int, list[tuple[int, object]]] = {}
        modules: dict[int, nn.Module] = {}
        versions: list[tuple[Tensor, int]] = []
        for module, index in open_calls:
            modules[id(module)] = module
            entries.setdefault(id(module), []).append((index, _REAL))
        recorded = [c for frame in done for c in frame]
        target = next(m for m in self.model.modules() if self.targets.get(id(m)) == layer)
        recorded.append((target, layer_call, self.layer_outputs[layer]))
        for module, index, output in recorded:
            for leaf in tree_flatten(output)[0]:
                if isinstance(leaf, Tensor):
                    if batch > 1 and (leaf.ndim == 0 or leaf.shape[0] != batch):
                        return None  # cannot slice one image's output out of it
                    versions.append((leaf, leaf._version))
            modules[id(module)] = module
            entries.setdefault(id(module), []).append((index, output))
        calls = {k: [a for _, a in sorted(v, key=lambda e: e[0])] for k, v in entries.items()}
        return HeadPlan(layer, modules, calls, batch, versions)


_SKIP_LOCK = threading.Lock()
#: id(module) -> [module, the instance's own forward or None, {thread id: pass state}]
_SKIPPED: dict[int, list[Any]] = {}


class _Pass:
    """One thread's forward pass over a :class:`HeadPlan`: per module, how many calls so far."""

    def __init__(self, plan: HeadPlan, b: int) -> None:
        self.plan = plan
        self.b = b
        self.counts: dict[int, int] = {}

    def action(self, module: nn.Module) -> object:
        calls = self.plan.calls[id(module)]
        index = self.counts.get(id(module), 0)
        self.counts[id(module)] = index + 1
        return calls[index] if index < len(calls) else _REAL


def _dispatcher(entry: list[Any]) -> Callable:
    """The ``forward`` that shadows a skipped module's: the recorded output for the threads
    whose pass skips it, the module's own forward for everyone else."""

    def forward(*args: Any, **kwargs: Any) -> object:
        module, own, passes = entry
        state = passes.get(threading.get_ident())
        if state is not None:
            action = state.action(module)
            if action is not _REAL:
                return state.plan.output(action, state.b)
        real = own if own is not None else type(module).forward.__get__(module)
        return real(*args, **kwargs)

    forward.camlens_skip_entry = entry  # type: ignore[attr-defined]
    return forward


def module_copy(module: nn.Module) -> nn.Module:
    """A shallow copy of ``module`` (its own ``_modules`` dict; parameters, buffers and hooks
    shared) without the ``forward`` another thread's Ablation-CAM may be shadowing right now."""
    clone = copy.copy(module)
    clone._modules = dict(module._modules)
    entry = getattr(clone.__dict__.get("forward"), "camlens_skip_entry", None)
    if entry is not None:
        if entry[1] is None:
            del clone.__dict__["forward"]
        else:
            clone.__dict__["forward"] = entry[1]
    return clone


@contextlib.contextmanager
def _skipping(plan: HeadPlan, b: int) -> Iterator[_Pass]:
    """For this thread's forward passes, the modules of ``plan`` return their recorded outputs
    instead of running (other threads run them as usual). The module's ``forward`` is shadowed
    by an instance attribute while any thread needs it, then restored."""
    state = _Pass(plan, b)
    tid = threading.get_ident()
    installed = []
    with _SKIP_LOCK:
        try:
            for key, module in plan.modules.items():
                if all(a is _REAL for a in plan.calls[key]):
                    continue
                entry = _SKIPPED.get(key)
                if entry is None or entry[0] is not module:
                    own = module.__dict__.get("forward")
                    entry = _SKIPPED[key] = [module, own, {}]
                    object.__setattr__(module, "forward", _dispatcher(entry))
                entry[2][tid] = state
                installed.append(key)
        except Exception as error:
            _unskip(installed, tid)
            raise LayerOutputError(f"cannot skip a module before the layer: {error}") from error
    try:
        yield state
    finally:
        with _SKIP_LOCK:
            _unskip(installed, tid)


def _unskip(keys: list[int], tid: int) -> None:
    for key in keys:
        module, own, passes = _SKIPPED[key]
        passes.pop(tid, None)
        if not passes:
            del _SKIPPED[key]
            if own is None:
                module.__dict__.pop("forward", None)
            else:
                object.__setattr__(module, "forward", own)
