"""The JAX / Flax adapter: a :class:`~camlens.core.capture.Capture` from ``jax.vjp``, handed to
the same method code as the PyTorch path.

How a layer is tapped, without touching the user's module or its code:

- **linen**: ``flax.linen.intercept_methods`` sees every submodule's ``__call__`` while the
  module is applied; the target submodule's output ``a`` is recorded and replaced by ``a + δ``
  with ``δ = 0`` an argument of the traced function. (linen's ``capture_intermediates`` records
  outputs only, and ``Module.perturb`` needs a ``self.perturb(...)`` call written in the module's
  code; the interceptor gives both, for any submodule.)
- **NNX**: inside the traced function the module is rebuilt from its state (``nnx.split`` /
  ``nnx.merge``, a copy), and the target submodule's attribute on that copy is replaced by a tap
  that does the same. The user's module is never changed.

Gradients: one jitted program runs the forward pass under ``jax.vjp`` with respect to the δ's
and returns the logits, the activations and the VJP (its residuals); the target scores and their
gradient with respect to the logits are taken in torch (targets stay torch callables), and a
second jitted program pulls that cotangent back to the layers (the chain rule across the
boundary). So a capture costs one forward and one backward pass, however many target sets.
Programs are compiled once per input shape and dtype.

Boundary: inputs are Flax batches ``(B, H, W, C)`` (numpy or JAX) or torch ``(B, C, H, W)``;
``Capture.inputs`` is torch ``(B, C, H, W)``; 4-D layer outputs (channels last in Flax) become
torch ``(B, C, h, w)``, tokens ``(B, N, D)`` are laid on their grid as on the PyTorch path.
Layer names are the submodule paths, dotted: ``"block2"``, ``"backbone.stage3"``, ``"layers.0"``
(NNX lists; ``"layers[0]"`` and ``"block2/conv"`` are read too).
"""

from __future__ import annotations

import contextlib
import difflib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..core.capture import Capture, ReshapeTransform, check_input
from ..core.contract import ACTIVATIONS, GRADIENTS, LAYER_REPLACE, not_scores
from ..core.errors import (
    AutoLayerWarning,
    InvalidInputError,
    LayerNotFoundError,
    LayerNotReachedError,
    LayerOutputError,
    TargetError,
    TrainingModeError,
    TrainingModeWarning,
    warn_at_caller,
)
from ..core.reshape import auto_reshape
from ..extras import require
from ..targets import ClassTarget, RankTarget, resolve_targets, score_targets
from .model import FlaxModel, as_flax_model

# A missing package names the extra that installs it (pip install 'camlens[jax]').
jax = require("jax", "Explaining a Flax model", "jax")
jnp = require("jax.numpy", "Explaining a Flax model", "jax")
flax = require("flax", "Explaining a Flax model", "jax")
require("flax.errors", "Explaining a Flax model", "jax")

Path = tuple[Any, ...]
#: Compiled programs, least recently used first (see :meth:`JaxAdapter._program`).
_PROGRAMS: OrderedDict[tuple, Any] = OrderedDict()
MAX_PROGRAMS = 64
_TOKEN = re.compile(r"\[(-?[0-9]+)\]")


# --- the boundary ---------------------------------------------------------------------------
def to_torch(value: Any) -> Tensor:
    """A JAX / numpy array as a CPU torch tensor (same layout and dtype): a JAX array's buffer
    is shared through DLPack (no copy; camlens reads it only), anything else is copied."""
    if isinstance(value, jax.Array):
        try:
            return torch.from_dlpack(value)
        except (RuntimeError, TypeError, BufferError):  # e.g. a device torch cannot see
            pass
    return torch.from_numpy(np.array(value))


def to_jax(value: Tensor) -> Any:
    """A torch tensor as a JAX array (same layout and dtype)."""
    value = value.detach().cpu()
    if value.dtype == torch.bfloat16:  # numpy has no bfloat16: through float32 (exact)
        return jnp.asarray(value.float().numpy()).astype(jnp.bfloat16)
    return jnp.asarray(value.numpy())


def input_batch(x: object) -> Tensor:
    """The input as camlens sees it: torch ``(B, C, *spatial)``. numpy / JAX arrays are Flax
    batches, channels last ``(B, H, W, C)``; a torch tensor is already channels first."""
    if isinstance(x, Tensor):
        return check_input(x)
    if not (isinstance(x, np.ndarray | jax.Array) or hasattr(x, "__array__")):
        raise InvalidInputError(
            f"input must be a numpy or JAX array (B, H, W, C), or a torch tensor (B, C, H, W); "
            f"got {type(x).__name__}."
        )
    array = np.asarray(x)
    if not array.flags.writeable:  # e.g. a JAX array's host view: torch wants its own copy
        array = np.array(array)
    if array.ndim < 3:
        raise InvalidInputError(
            f"input must be a batch (B, H, W, C); got shape {array.shape}. For one image add the "
            "batch dimension: x[None]."
        )
    if array.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: floating, but not numpy's own
        array = array.astype(np.float32)  # exact
    if not np.issubdtype(array.dtype, np.floating):
        raise InvalidInputError(
            f"input must be floating point, got {array.dtype}; convert with x.astype('float32')."
        )
    return check_input(torch.from_numpy(array).movedim(-1, 1))  # a view of the caller's array


@contextlib.contextmanager
def flax_errors(x: Any) -> Iterator[None]:
    """Flax's errors of running the module on ``x`` in a wrong layout, or in training mode, as
    camlens' own."""
    try:
        yield
    except flax.errors.ScopeParamShapeError as error:
        raise InvalidInputError(
            f"the Flax model's parameters do not fit an input of shape {tuple(x.shape)} (channels "
            f"last, as Flax takes it): {_flax_line(error)} Give numpy or JAX arrays "
            "(B, H, W, C), or torch tensors (B, C, H, W)."
        ) from None
    except (
        flax.errors.ModifyScopeVariableError,
        flax.errors.InvalidRngError,
        flax.errors.TraceContextError,
    ) as error:
        raise TrainingModeError(
            f"the Flax model changes its state when it runs (batch statistics, dropout: training "
            f"mode): {_flax_line(error)} Explain it in eval mode: FlaxModel(module, variables, "
            "apply_kwargs={'train': False}) for linen, module.eval() for NNX."
        ) from None


def _nnx_training(module: Any) -> bool:
    """Whether an NNX module has a submodule in training mode (what ``module.eval()`` turns
    off: a dropout that is not deterministic, a batch norm that updates its statistics)."""
    from flax import nnx

    for _, sub in nnx.iter_graph(module):
        if getattr(sub, "deterministic", None) is False:
            return True
        if getattr(sub, "use_running_average", None) is False:
            return True
    return False


def _flax_line(error: BaseException) -> str:
    """The first sentence of a flax error (its message goes on with a link to the docs)."""
    text = " ".join(str(error).split())
    text = re.sub(r"\s*\(https?://\S+\)", "", text)
    return text.split(". ")[0].rstrip(".")[:240] + "."


def _first_output(output: Any) -> Any:
    """What targets score: an array, a dict's ``"logits"`` / ``"out"``, a sequence's first."""
    found = output
    if isinstance(output, dict):
        found = next((output[key] for key in ("logits", "out") if key in output), output)
    elif isinstance(output, list | tuple) and output:
        found = output[0]
    if not hasattr(found, "ndim"):  # a dict of other keys, say
        raise not_scores(output)
    return found


def class_codes(spec: object, batch: int) -> list[int] | None:
    """Per image ``c >= 0`` (class ``c``) or ``-1 - r`` (the rank-``r`` class) when ``spec`` is
    made of class indices, ``ClassTarget`` s, ``RankTarget`` s or ``None`` only (known before the
    forward pass: the fused program computes their gradient), else ``None``."""
    if spec is None:
        spec = RankTarget(0)
    if hasattr(spec, "tolist") and hasattr(spec, "dtype"):
        spec = spec.tolist()
    items = list(spec) if isinstance(spec, Sequence) and not isinstance(spec, str) else [spec]
    codes = []
    for item in items:
        if type(item) is ClassTarget:
            codes.append(item.category)
        elif type(item) is RankTarget:
            codes.append(-1 - item.rank)
        elif isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            codes.append(item)
        else:
            return None
    codes = codes * batch if len(codes) == 1 else codes
    return codes if len(codes) == batch else None


#: The message of the TargetError raised while tracing the fused program on non-(B, K) logits.
NOT_CLASS_SCORES = "the logits are not (B, K) class scores"


def _name(path: Path) -> str:
    return ".".join(str(p) for p in path)


def _tokens(spec: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[./]", _TOKEN.sub(r".\1", spec)) if t)


# --- running a module with taps on submodules -------------------------------------------------
Tap = Callable[[Path, Any], Any]  # (path, output) -> output


class _NnxTap:
    """Stands in for an NNX submodule on the rebuilt copy: calls it, hands its output to the
    tap."""

    def __init__(self, inner: Any, path: Path, tap: Tap) -> None:
        self.inner, self.path, self.tap = inner, path, tap

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.tap(self.path, self.inner(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _nnx_install(model: Any, paths: Sequence[Path], tap: Tap) -> None:
    """Replace the submodules at ``paths`` of the (copied) NNX ``model`` by taps, deepest
    first, so a tapped parent calls tapped children."""
    for path in sorted(paths, key=len, reverse=True):
        parent = model
        for key in path[:-1]:
            parent = parent[key] if isinstance(key, int) else getattr(parent, key)
        key = path[-1]
        if isinstance(key, int):  # nnx.List / Sequential items
            parent[key] = _NnxTap(parent[key], path, tap)
        else:  # past nnx's attribute checks: the copy is thrown away after the call
            object.__setattr__(parent, key, _NnxTap(getattr(parent, key), path, tap))


def nnx_module_paths(module: Any) -> list[Path]:
    """Every submodule's path in an NNX module (the root excluded), in graph order."""
    from flax import nnx

    return [
        tuple(path)
        for path, node in nnx.iter_graph(module)
        if path and isinstance(node, nnx.Module)
    ]


class _Runner:
    """Runs the bound Flax model on a JAX batch with taps on submodules, for either API."""

    def __init__(self, flax_model: FlaxModel) -> None:
        self.flax = flax_model

    def state(self) -> tuple[Any, Any]:
        """``(static, state)``: linen ``(None, variables)``; NNX ``nnx.split(module)``."""
        if self.flax.kind == "linen":
            return None, self.flax.variables
        from flax import nnx

        return nnx.split(self.flax.module)

    def run(self, static: Any, state: Any, x: Any, taps: dict[Path, Tap]) -> Any:
        with flax_errors(x):
            return self._run(static, state, x, taps)

    def _run(self, static: Any, state: Any, x: Any, taps: dict[Path, Tap]) -> Any:
        kwargs = self.flax.apply_kwargs
        if self.flax.kind == "linen":
            if not taps:
                return _first_output(self.flax.module.apply(state, x, **kwargs))
            import flax.linen as nn

            def interceptor(next_fun, args, kw, context):
                out = next_fun(*args, **kw)
                path = tuple(context.module.path)
                if context.method_name == "__call__" and path in taps:
                    return taps[path](path, out)
                return out

            with nn.intercept_methods(interceptor):
                return _first_output(self.flax.module.apply(state, x, **kwargs))
        from flax import nnx

        model = nnx.merge(static, state)
        if taps:
            _nnx_install(model, list(taps), lambda path, out: taps[path](path, out))
        return _first_output(model(x, **kwargs))

    def calls(self, static: Any, state: Any, x: Any) -> list[tuple[Path, Any]]:
        """Every submodule call ``(path, output shape/dtype)`` in completion order (abstract:
        nothing is computed)."""
        seen: list[tuple[Path, Any]] = []

        def record(path: Path, out: Any) -> Any:
            seen.append((path, jax.tree_util.tree_map(lambda a: a.shape, out)))
            return out

        if self.flax.kind == "linen":
            import flax.linen as nn

            def interceptor(next_fun, args, kw, context):
                out = next_fun(*args, **kw)
                if context.method_name == "__call__" and context.module.path:
                    record(tuple(context.module.path), out)
                return out

            def probe(state: Any, x: Any) -> Any:
                with nn.intercept_methods(interceptor):
                    return self.flax.module.apply(state, x, **self.flax.apply_kwargs)

            with flax_errors(x):
                jax.eval_shape(probe, state, x)
        else:
            from flax import nnx

            paths = nnx_module_paths(nnx.merge(static, state))
            jax.eval_shape(
                lambda s, x: self.run(static, s, x, dict.fromkeys(paths, record)), state, x
            )
        return seen


class JaxAdapter:
    """Produce a :class:`Capture` from a Flax model (:class:`~camlens.jax.FlaxModel`, or a bare
    NNX module).

    target_layers: a submodule path (``"block2"``, ``"backbone.stage3"``), an NNX submodule, or
    a list of these; ``None`` picks the last submodule whose output is image-like (``(B, h, w,
    C)`` with more than one position). reshape_transform: gets a layer's output as a torch tensor
    in Flax's layout and returns ``(B, C, *grid)``.

    Shapes: input ``(B, C, H, W)``; a layer's ``(B, h, w, C)`` output is captured as
    ``(B, C, h, w)``.

    Example:
        >>> import jax, jax.numpy as jnp, torch
        >>> import flax.linen as fnn
        >>> class Net(fnn.Module):
        ...     @fnn.compact
        ...     def __call__(self, x):  # (B, H, W, C), Flax's layout
        ...         x = fnn.relu(fnn.Conv(4, (3, 3), name="conv")(x))
        ...         return fnn.Dense(3, name="head")(x.mean(axis=(1, 2)))
        >>> net = Net()
        >>> variables = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))
        >>> from camlens import GradCAM
        >>> from camlens.jax import FlaxModel
        >>> cam = GradCAM(FlaxModel(net, variables), target_layers="conv")
        >>> maps = cam(torch.rand(2, 3, 8, 8))
        >>> type(cam.adapter).__name__, maps.shape
        ('JaxAdapter', torch.Size([2, 8, 8]))
    """

    capabilities = frozenset({ACTIVATIONS, GRADIENTS, LAYER_REPLACE})

    def __init__(
        self,
        model: object,
        target_layers: object,
        reshape_transform: ReshapeTransform | None = None,
    ) -> None:
        self.model = model
        self.flax = as_flax_model(model)
        self.runner = _Runner(self.flax)
        self.reshape_transform = reshape_transform
        self._specs = None if target_layers is None else self._as_specs(target_layers)
        if self._specs is not None and not self._specs:
            raise LayerNotFoundError("target_layers is empty: give at least one layer.")
        self.layers: list[tuple[str, Path]] | None = None
        self._fused = True  # class targets take the fused program (see _fused_capture)
        self._local = threading.local()  # per thread: the last prepared input as a JAX array
        if self._specs is not None and self.flax.kind == "nnx":
            self.layers = self._resolve(nnx_module_paths(self.flax.module))
        if self.flax.kind == "nnx" and _nnx_training(self.flax.module):
            warn_at_caller(
                "the NNX module is in training mode (dropout on, or batch statistics updated): "
                "the scores change from run to run. Call module.eval() first.",
                TrainingModeWarning,
            )

    # --- layers -------------------------------------------------------------------------------
    def _as_specs(self, target_layers: object) -> list[object]:
        if isinstance(target_layers, str) or not isinstance(target_layers, Sequence):
            return [target_layers]
        return list(target_layers)

    def _resolve(self, known: Sequence[Path]) -> list[tuple[str, Path]]:
        """The specs as ``(name, path)`` among the ``known`` submodule paths."""
        by_tokens = {tuple(str(p) for p in path): path for path in known}
        resolved = []
        for spec in self._specs or []:
            path = by_tokens.get(_tokens(spec)) if isinstance(spec, str) else self._path_of(spec)
            if path is None:
                names = [_name(p) for p in known]
                # a module object by its type; anything else (an int, say) as it is
                shown = spec if isinstance(spec, str | int | float) else type(spec).__name__
                close = difflib.get_close_matches(str(shown), names, n=5, cutoff=0.5)
                hint = f" Close matches: {', '.join(close)}." if close else ""
                raise LayerNotFoundError(
                    f"no submodule {shown!r} in the Flax model {type(self.flax.module).__name__}."
                    f"{hint} camlens.jax.layer_names(model, x) lists them."
                )
            resolved.append((_name(path), path))
        return resolved

    def _path_of(self, module: object) -> Path | None:
        if self.flax.kind != "nnx":
            return None
        from flax import nnx

        for path, node in nnx.iter_graph(self.flax.module):
            if node is module and path:
                return tuple(path)
        return None

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers or []]

    def prepare_input(self, x: object) -> Tensor:
        """The input as torch ``(B, C, *spatial)``; a numpy / JAX batch is also kept as the JAX
        array the model will get (no conversion back, see :meth:`_jax_input`)."""
        batch = input_batch(x)
        if not isinstance(x, Tensor):
            self._local.last = (batch, x if isinstance(x, jax.Array) else jnp.asarray(x))
        return batch

    def _jax_input(self, x: Tensor) -> Any:
        last = getattr(self._local, "last", None)
        if last is not None and last[0] is x:
            return last[1]
        return to_jax(x.movedim(1, -1))

    def ensure_layers(self, x: Tensor) -> None:
        """Resolve the named layers (linen: from one abstract probe of the input's shape), or
        with ``target_layers=None`` pick the last image-like submodule output (and warn)."""
        if self.layers is not None:
            return
        static, state = self.runner.state()
        calls = self.runner.calls(static, state, self._jax_input(x[:1]))
        if self._specs is not None:
            self.layers = self._resolve(list(dict.fromkeys(path for path, _ in calls)))
            return
        rank = x.ndim
        image_like = [
            path
            for path, shape in calls
            if isinstance(shape, tuple) and len(shape) == rank and int(np.prod(shape[1:-1])) > 1
        ]
        if not image_like:
            raise LayerNotFoundError(
                f"no submodule of {type(self.flax.module).__name__} gives an image-like output "
                "(B, h, w, C); name the layer to explain."
            )
        self.layers = [(_name(image_like[-1]), image_like[-1])]
        warn_at_caller(
            f"target_layers=None: explaining submodule {self.layers[0][0]!r} of "
            f"{type(self.flax.module).__name__} (camlens.jax.layer_names(model, x) lists them).",
            AutoLayerWarning,
        )

    # --- compiled programs --------------------------------------------------------------------
    def _program_key(self, kind: str) -> tuple:
        """What a compiled program depends on besides its arguments: the API, the linen module
        (a frozen dataclass, equal by value; NNX's graph is a static argument), the call's
        keyword arguments, the program and the tapped paths."""
        try:
            options: tuple[Any, ...] = tuple(sorted(self.flax.apply_kwargs.items()))
            hash(options)
        except TypeError:  # unhashable options: this adapter's own programs
            options = ("adapter", id(self))
        module = self.flax.module if self.flax.kind == "linen" else None
        paths = tuple(path for _, path in self.layers or [])
        return (self.flax.kind, module, options, kind, paths)

    def _program(self, kind: str) -> Any:
        """The jitted function ``kind`` for the current layers; shared by every adapter of an
        equal model (a method built again does not compile again); jit caches by shape/dtype."""
        key = self._program_key(kind)
        cached = _PROGRAMS.get(key)
        if cached is not None:
            _PROGRAMS.move_to_end(key)
            return cached
        paths: tuple[Path, ...] = tuple(path for _, path in self.layers or [])
        runner = self.runner

        def tapped(static: Any, state: Any, x: Any, deltas: Sequence[Any] | None) -> Any:
            records: dict[Path, list[Any]] = {p: [] for p in paths}

            def tap(path: Path, out: Any) -> Any:
                if not isinstance(out, jax.Array):
                    raise LayerOutputError(
                        f"submodule {_name(path)!r} returned {type(out).__name__}; choose a "
                        "submodule whose output is one array."
                    )
                if deltas is not None:
                    out = out + deltas[paths.index(path)]
                records[path].append(out)
                return out

            logits = runner.run(static, state, x, dict.fromkeys(paths, tap))
            for path in paths:
                if not records[path]:
                    raise LayerNotReachedError(
                        f"the forward pass never ran submodule {_name(path)!r}; pick one the "
                        "model calls."
                    )
                if len(records[path]) > 1:
                    raise LayerOutputError(
                        f"submodule {_name(path)!r} ran {len(records[path])} times in one "
                        "forward pass (a shared module), so its map is ambiguous."
                    )
            return logits, [records[p][0] for p in paths]

        if kind == "predict":

            def program(static: Any, state: Any, x: Any) -> Any:
                return runner.run(static, state, x, {})

        elif kind == "forward":

            def program(static: Any, state: Any, x: Any) -> Any:
                return tapped(static, state, x, None)

        elif kind == "forward_vjp":

            def program(static: Any, state: Any, x: Any) -> Any:
                shapes = jax.eval_shape(lambda: tapped(static, state, x, None))[1]
                zeros = [jnp.zeros(s.shape, s.dtype) for s in shapes]
                (logits, acts), vjp = jax.vjp(lambda d: tapped(static, state, x, d), zeros)
                return logits, acts, vjp

        elif kind == "fused":  # forward, class targets and backward in one program

            def program(  # type: ignore[misc]
                static: Any, state: Any, x: Any, codes: Any, ranked: bool
            ) -> Any:
                shapes = jax.eval_shape(lambda: tapped(static, state, x, None))[1]
                zeros = [jnp.zeros(s.shape, s.dtype) for s in shapes]
                (logits, acts), vjp = jax.vjp(lambda d: tapped(static, state, x, d), zeros)
                if logits.ndim != 2:
                    raise TargetError(NOT_CLASS_SCORES)
                rows = jnp.arange(logits.shape[0])
                # the classes are ranked only when a rank is asked for (a sort of every row)
                order = jnp.argsort(-logits, axis=1) if ranked else None
                classes, scores, grads = [], [], []
                for t in range(codes.shape[0]):
                    chosen = codes[t]
                    if order is not None:
                        rank = jnp.clip(-1 - codes[t], 0, logits.shape[1] - 1)
                        chosen = jnp.where(codes[t] >= 0, codes[t], order[rows, rank])
                    cotangent = jax.nn.one_hot(chosen, logits.shape[1], dtype=logits.dtype)
                    classes.append(chosen)
                    scores.append(logits[rows, chosen])
                    grads.append(vjp((cotangent, [jnp.zeros_like(a) for a in acts]))[0])
                return logits, acts, jnp.stack(classes), jnp.stack(scores), grads

        else:  # backward

            def program(vjp: Any, d_logits: Any, acts: Any) -> Any:  # type: ignore[misc]
                return vjp((d_logits, [jnp.zeros_like(a) for a in acts]))[0]

        if kind == "backward":
            compiled = jax.jit(program)
        else:  # the module (NNX: its graph) and, fused, whether ranks are asked for are static
            compiled = jax.jit(program, static_argnums=(0, 4) if kind == "fused" else 0)
        _PROGRAMS[key] = compiled
        while len(_PROGRAMS) > MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
        return compiled

    # --- capture ------------------------------------------------------------------------------
    def reshape(self, output: Tensor, input_shape: Sequence[int], index: int) -> Tensor:
        """A layer's output (torch, Flax layout) as ``(B, C, *grid)``."""
        if self.reshape_transform is not None:
            return self.reshape_transform(output)
        if output.ndim == len(input_shape):
            return output.movedim(-1, 1)  # Flax is channels last
        return auto_reshape(output, input_shape, self.layer_names[index])

    def capture(
        self,
        x: object,
        target_sets: Sequence[object] | None,
        *,
        gradients: bool = True,
        differentiable: bool = False,
        rank_rows: Tensor | None = None,
    ) -> Capture:
        """One jitted forward pass (under ``jax.vjp`` when ``gradients``), then per target set
        one jitted pull-back of the targets' logit gradient to the layers."""
        if differentiable:
            from ..errors import UnsupportedByAdapterError

            raise UnsupportedByAdapterError(
                "differentiable=True keeps a torch autograd graph, which a JAX model cannot "
                "join; use it with PyTorch models."
            )
        batch = self.prepare_input(x)
        self.ensure_layers(batch)
        sets = [None] if target_sets is None else list(target_sets)
        if not sets:
            raise TargetError("target_sets is empty: give at least one set of targets.")
        static, state = self.runner.state()
        xj = self._jax_input(batch)
        n = batch.shape[0]
        codes = [class_codes(t, n) for t in sets]
        if gradients and rank_rows is None and self._fused and all(c is not None for c in codes):
            try:
                return self._fused_capture(batch, static, state, xj, codes)  # type: ignore[arg-type]
            except TargetError as error:  # e.g. a class out of range: the general path says so
                if str(error) == NOT_CLASS_SCORES:
                    self._fused = False  # not (B, K) logits: the general path from now on
        if gradients:
            logits_j, acts_j, vjp = self._program("forward_vjp")(static, state, xj)
        else:
            logits_j, acts_j = self._program("forward")(static, state, xj)
        logits = to_torch(logits_j)
        ranking = None if rank_rows is None else logits[rank_rows]
        targets = [resolve_targets(t, logits, n, ranking) for t in sets]
        scores, grads = [], []
        for target in targets:
            leaf = logits.clone().requires_grad_(True)
            with torch.enable_grad():
                score = score_targets(target, leaf)
                (d_logits,) = torch.autograd.grad(score.sum(), leaf, allow_unused=True)
            scores.append(score.detach())
            if not gradients:
                continue
            d_logits = torch.zeros_like(logits) if d_logits is None else d_logits
            found = self._program("backward")(vjp, to_jax(d_logits.to(logits.dtype)), acts_j)
            grads.append([self.reshape(to_torch(g), batch.shape, i) for i, g in enumerate(found)])
        activations = [self.reshape(to_torch(a), batch.shape, i) for i, a in enumerate(acts_j)]
        return Capture(batch, logits, activations, grads, targets, scores, self.layer_names, self)

    def _fused_capture(
        self, batch: Tensor, static: Any, state: Any, xj: Any, codes: list[list[int]]
    ) -> Capture:
        """Class targets known in advance: one jitted program runs the forward pass, picks the
        ranked classes and pulls every one-hot cotangent back (as a fused forward + gradient)."""
        ranked = any(c < 0 for row in codes for c in row)
        program = self._program("fused")
        logits_j, acts_j, classes, scores_j, grads_j = program(
            static, state, xj, jnp.asarray(codes, dtype=jnp.int32), ranked
        )
        logits = to_torch(logits_j)
        chosen = np.asarray(classes).tolist() if ranked else codes  # no ranks: codes = classes
        targets: list[list[Any]] = [[ClassTarget(c) for c in row] for row in chosen]
        for row in targets:  # the class range (the program's indexing clamps: check first)
            for target in row:
                target.check(logits)
        scores = list(to_torch(scores_j))  # logits[i, class_i] per set, read in the program
        grads = [
            [self.reshape(to_torch(g), batch.shape, i) for i, g in enumerate(found)]
            for found in grads_j
        ]
        activations = [self.reshape(to_torch(a), batch.shape, i) for i, a in enumerate(acts_j)]
        return Capture(batch, logits, activations, grads, targets, scores, self.layer_names, self)

    # --- running the model again (perturbation methods) ---------------------------------------
    def predict(self, x: Tensor) -> Tensor:
        """Logits (torch) for a torch ``(B, C, *spatial)`` batch (jitted, no taps)."""
        static, state = self.runner.state()
        return to_torch(self._program("predict")(static, state, self._jax_input(x))).to(x.device)

    def predict_with_layer_output(
        self, x: Tensor, layer_index: int, replace: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits when target layer ``layer_index`` outputs ``replace(its output)`` instead
        (``replace`` sees ``(B, C, h, w)`` as :attr:`Capture.activations` hold it and may return
        a larger batch). Runs eagerly (``replace`` is torch code). :class:`LayerOutputError` when
        the network after the layer cannot run on it."""
        self.ensure_layers(x)
        name, path = (self.layers or [])[layer_index]
        expected: list[int] = []

        def tap(_path: Path, out: Any) -> Any:
            raw = to_torch(out)
            if self.reshape_transform is None and raw.ndim == x.ndim:
                new = replace(raw.movedim(-1, 1))
                back = new.movedim(1, -1)
            else:
                new = back = replace(raw)
            expected.append(new.shape[0])
            return to_jax(back.contiguous())

        static, state = self.runner.state()
        try:
            logits = to_torch(self.runner.run(static, state, self._jax_input(x), {path: tap}))
        except (TypeError, ValueError) as error:
            raise LayerOutputError(
                f"cannot run the network from submodule {name!r} on a new batch: {error}"
            ) from error
        if len(expected) != 1 or len(logits) != expected[0]:
            raise LayerOutputError(
                f"the network after submodule {name!r} did not keep the replaced batch "
                f"({expected} -> {logits.shape[0]} outputs)."
            )
        return logits

    def forward_cost(self, x1: Tensor, start: object | None = None) -> int:
        """An estimate of the activation bytes one image costs: three times the largest
        submodule output (its input, itself and a temporary), from an abstract probe."""
        static, state = self.runner.state()
        calls = self.runner.calls(static, state, self._jax_input(x1[:1]))
        itemsize = x1.element_size()
        sizes = [
            int(np.prod(shape)) * itemsize
            for _, shape in calls
            if isinstance(shape, tuple) and all(isinstance(s, int) for s in shape)
        ]
        return 3 * max(sizes, default=int(x1[:1].numel()) * itemsize)


def layer_names(model: object, x: object) -> list[str]:
    """Every submodule's path (dotted) that the model calls on input ``x`` (channels last
    numpy / JAX, or torch ``(B, C, H, W)``), in call-completion order."""
    adapter = JaxAdapter(model, None)
    batch = input_batch(x)
    static, state = adapter.runner.state()
    calls = adapter.runner.calls(static, state, adapter._jax_input(batch[:1]))
    return list(dict.fromkeys(_name(path) for path, _ in calls))
