"""Shared machinery of the perturbation methods (Score-CAM family, Ablation-CAM).

- :func:`parse_memory`: ``"512MB"`` / ``"1.5GiB"`` / an int of bytes -> bytes.
- :func:`forward_cost`: a one-image probe of what one more image costs in a forward pass;
  :func:`probe_cost` uses it for PyTorch models and the adapter's own estimate for Keras ones.
- :func:`chunk_size`: how many perturbed images one forward pass may take.
- :func:`channel_masks`: Score-CAM's per-channel input masks, built for a slice of channels only.
- :func:`progress_bar`: the batch loop's progress (callbacks of :func:`camlens.progress`, a tqdm
  bar).

How a byte budget becomes a chunk size (``max_memory=``). The cost of one more perturbed image in
a forward pass is estimated once per input shape from a probe: one image runs through the model
(or, for Ablation-CAM's tail path, through the part after the target layer) with hooks on every
leaf module, and at each module call the bytes of all tensors that entered or left a leaf module
and are still referenced are added up (tensors are tracked by weak reference, so a skip
connection kept alive by the model's code counts; an activation dropped after its last use does
not). The largest such sum is the activation memory of one image. The per-image cost is

    ``WORKSPACE_FACTOR`` (1.5) × that peak  +  the perturbed input  +  its mask,

where the factor covers what the probe cannot see (convolution workspaces, layout reorders,
temporaries inside a module's forward). The chunk is ``max(1, max_memory // cost)``. The model's
weights and the caller's own tensors are outside the budget; so is the one-image original pass.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.contract import Adapter, EstimatesCost, model_logits
from ..core.progress import track
from ..core.torch_adapter import module_copy
from ..errors import InvalidInputError, OptionError

#: Safety factor on the probed activation memory (workspaces and temporaries the probe misses).
WORKSPACE_FACTOR = 1.5
#: Default byte budget when neither ``batch_size`` nor ``max_memory`` is given.
DEFAULT_MAX_MEMORY = 512 * 2**20

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
    "K": 2**10,
    "M": 2**20,
    "G": 2**30,
}
_MEMORY = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*$")


def parse_memory(value: int | float | str) -> int:
    """Bytes from ``512_000_000``, ``"512MB"`` (10^6), ``"1.5GiB"`` (2^30) or ``"800M"`` (2^20)."""
    if isinstance(value, bool):
        raise TypeError("max_memory must be a number of bytes or a string such as '512MB'.")
    if isinstance(value, int | float):
        result = int(value)
    elif isinstance(value, str):
        match = _MEMORY.match(value)
        unit = match.group(2).upper() if match else None
        if match is None or unit not in _UNITS:
            raise OptionError(
                f"cannot read max_memory={value!r}; write e.g. '512MB', '2GiB' or a byte count."
            )
        result = int(float(match.group(1)) * _UNITS[unit])
    else:
        raise TypeError(
            f"max_memory must be an int of bytes or a string such as '512MB', not "
            f"{type(value).__name__}."
        )
    if result <= 0:
        raise OptionError(f"max_memory must be positive, got {value!r}.")
    return result


def check_batch_size(batch_size: int | None) -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise OptionError(f"batch_size must be a positive int, got {batch_size!r}.")
    return batch_size


def _nbytes(t: Tensor) -> int:
    return t.numel() * t.element_size()


class _LiveTensors:
    """Forward (pre-)hooks on every leaf module that track the tensors going in and out by weak
    reference, and record the largest total of the ones still alive."""

    def __init__(self, model: nn.Module, start: nn.Module | None = None) -> None:
        self.model = model
        self.start = start  # count only from this module's output on (tail probe)
        self.started = start is None
        self.alive: dict[int, tuple[weakref.ref, int]] = {}
        self.peak = 0
        self._handles: list[Any] = []
        self.owner = threading.get_ident()

    def _track(self, value: object) -> None:
        if isinstance(value, Tensor):
            key = id(value)
            if key not in self.alive or self.alive[key][0]() is not value:
                self.alive[key] = (weakref.ref(value), _nbytes(value))
        elif isinstance(value, tuple | list):
            for v in value:
                self._track(v)
        elif isinstance(value, dict):
            for v in value.values():
                self._track(v)

    def _measure(self) -> None:
        dead = [k for k, (ref, _) in self.alive.items() if ref() is None]
        for k in dead:
            del self.alive[k]
        self.peak = max(self.peak, sum(n for _, n in self.alive.values()))

    def _pre(self, module: nn.Module, inputs: object) -> None:
        if threading.get_ident() != self.owner:
            return  # another thread's forward pass through the shared modules
        if self.started:
            self._track(inputs)
            self._measure()

    def _post(self, module: nn.Module, inputs: object, output: object) -> None:
        if threading.get_ident() != self.owner:
            return
        if module is self.start:
            self.started = True
            self.alive.clear()
        if self.started:
            self._track(output)
            self._measure()

    def __enter__(self) -> _LiveTensors:
        modules = [m for m in self.model.modules() if next(m.children(), None) is None]
        if self.start is not None and self.start not in modules:
            modules.append(self.start)
        for m in modules:
            self._handles.append(m.register_forward_pre_hook(self._pre))
            self._handles.append(m.register_forward_hook(self._post))
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()


def forward_cost(
    model: nn.Module, x1: Tensor, run: Callable[[Tensor], object], start: nn.Module | None = None
) -> int:
    """Peak bytes of live module inputs/outputs while ``run(x1)`` (one image) goes through
    ``model``; with ``start``, only from that module's output on (the tail of the network)."""
    with _LiveTensors(model, start) as live, torch.inference_mode():
        run(x1)
    return live.peak


def probe_cost(adapter: Adapter, model: nn.Module, x1: Tensor, start: object | None = None) -> int:
    """The adapter's own estimate ``adapter.forward_cost(x1, start)`` when it has one
    (:class:`~camlens.core.contract.EstimatesCost`; Keras models: torch hooks on
    ``model.modules()`` cannot see their layers), else :func:`forward_cost`."""
    if isinstance(adapter, EstimatesCost):
        return adapter.forward_cost(x1, start)
    return forward_cost(model, x1, adapter.predict, start)


def chunk_size(
    batch_size: int | None, max_memory: int | None, per_item: Callable[[], int], total: int
) -> int:
    """Items per forward pass: ``batch_size`` if given, else ``max_memory // per_item()``
    (the default budget when neither is given); the smaller of both when both are."""
    sizes = []
    if batch_size is not None:
        sizes.append(batch_size)
    if max_memory is not None or batch_size is None:
        budget = DEFAULT_MAX_MEMORY if max_memory is None else max_memory
        sizes.append(max(1, budget // max(1, per_item())))
    return max(1, min(min(sizes), total))


# --- Score-CAM masks --------------------------------------------------------------------------
def _upsample(maps: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """``(N, *spatial)`` -> ``(N, *size)``, (bi/tri)linear."""
    size = tuple(int(s) for s in size)
    if tuple(maps.shape[1:]) == size:
        return maps
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}.get(maps.ndim - 1)
    if mode is None:
        raise InvalidInputError(f"cannot upsample maps of shape {tuple(maps.shape)}.")
    return F.interpolate(maps[:, None], size=size, mode=mode, align_corners=align_corners)[:, 0]


def _minmax(maps: Tensor, eps: float) -> Tensor:
    """Per-map ``(m - min) / (max - min + eps)``; with ``eps=0`` a constant map becomes zeros."""
    flat = maps.flatten(1)
    low = flat.amin(dim=1, keepdim=True)
    span = flat.amax(dim=1, keepdim=True) - low
    if eps > 0:
        out = (flat - low) / (span + eps)
    else:
        out = torch.where(span > 0, (flat - low) / torch.where(span > 0, span, 1), 0)
    return out.view_as(maps)


def channel_masks(
    activations: Tensor,
    size: Sequence[int],
    *,
    align_corners: bool = False,
    eps: float = 0.0,
    normalize_first: bool = False,
    zero_constant: bool = False,
) -> Tensor:
    """Score-CAM masks ``H^k = s(Up(A^k))`` of ``(N, *spatial)`` activation maps: ``(N, *size)``
    in [0, 1], each map min-max normalised on its own.

    normalize_first: ``Up(s(A^k))`` instead (torchcam); align_corners: the upsampling's corner
    convention (pytorch-grad-cam's ``UpsamplingBilinear2d`` aligns corners); eps: added to the
    denominator (pytorch-grad-cam and torchcam: 1e-8). zero_constant: a map constant at the
    layer's resolution gets the zero mask (bilinear upsampling in float32 can turn a constant into
    rounding noise that min-max normalisation then blows up to a 0..1 pattern).
    """
    maps = activations.float() if not activations.is_floating_point() else activations
    if normalize_first:
        masks = _upsample(_minmax(maps, eps), size, align_corners)
    else:
        masks = _minmax(_upsample(maps, size, align_corners), eps)
    if zero_constant:
        constant = constant_maps(maps).view(-1, *([1] * (masks.ndim - 1)))
        masks = masks.masked_fill(constant, 0.0)
    return masks


def constant_maps(activations: Tensor, zero_only: bool = False) -> Tensor:
    """``(N,)`` True where a map is constant (all zeros with ``zero_only``)."""
    flat = activations.flatten(1)
    high = flat.amax(dim=1)
    if zero_only:
        return (high == 0) & (flat.amin(dim=1) == 0)
    return high == flat.amin(dim=1)


# --- progress -----------------------------------------------------------------------------------
@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, desc: str) -> Iterator[Any]:
    """The batch loop's progress: ``update(n)`` after each batch tells the callbacks of
    :func:`camlens.progress` (see :mod:`camlens.core.progress`) and, when ``enabled``, a tqdm bar
    counting perturbed images."""
    with track(total, desc, bar=enabled) as tracker:
        yield tracker


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)


_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class FoldedBatchNorm:
    """An eval-mode copy of a model with every BatchNorm folded into the convolution before it,
    for the thousands of forward passes of a perturbation method (Score-CAM: one per channel).

    Folding ``BN(conv(x)) = conv'(x)`` with ``w' = w γ/σ``, ``b' = (b - μ) γ/σ + β`` saves one
    memory-bound pass per BatchNorm (ResNet-50 on CPU: ~7-12% of a forward pass); the scores agree
    with the original model up to float rounding (~1e-6 relative).

    Which convolution feeds which BatchNorm is found once per model structure and input shape,
    by one forward pass of one image with hooks on the convolutions and BatchNorms: a pair is a
    BatchNorm whose input is a convolution's output and nothing else's (its node in the autograd
    graph has one consumer), each module run once and carrying no hooks of its own. The folded
    model is then checked against the model on that image. No ``torch.fx`` tracing: its tracer
    patches ``nn.Module.__call__`` for every thread while it runs.

    The copy itself is made on every :meth:`get` from the model's current tensors — the folded
    weights are computed again (one elementwise pass over the paired convolutions' weights) and
    every other module, parameter and buffer is the model's own, shared, not copied — so no
    cache can score with weights that are no longer the model's, whether they were changed
    through ``.data``, ``copy_`` or ``load_state_dict``. ``get`` returns the model itself when it
    is in training mode or has no foldable pair.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pairs: dict[tuple, list[tuple[str, str]]] = {}

    def get(self, model: nn.Module, x1: Tensor) -> nn.Module:
        """The folded copy of ``model`` for inputs shaped like ``x1`` (one image), or ``model``."""
        if model.training or not any(type(m) in _NORMS for m in model.modules()):
            return model
        key = (tuple(id(m) for m in model.modules()), tuple(x1.shape[1:]), x1.dtype, x1.device)
        with self._lock:
            pairs = self._pairs.get(key)
        if pairs is None:
            pairs = _find_pairs(model, x1[:1])
            with self._lock:
                self._pairs[key] = pairs
        if not pairs or any(model.get_submodule(bn).training for _, bn in pairs):
            return model
        return _folded_copy(model, pairs)

    def extra_bytes(self, model: nn.Module, x1: Tensor) -> int:
        """Bytes the folded copy holds beyond the model's own tensors (0 when not folded)."""
        return folded_bytes(self.get(model, x1), model)


def folded_bytes(folded: nn.Module, model: nn.Module) -> int:
    """Bytes of ``folded``'s tensors that are not ``model``'s (the folded weights)."""
    if folded is model:
        return 0
    own = {id(t) for t in (*model.parameters(), *model.buffers())}
    return sum(_nbytes(t) for t in (*folded.parameters(), *folded.buffers()) if id(t) not in own)


def _find_pairs(model: nn.Module, x1: Tensor) -> list[tuple[str, str]]:
    """(conv name, BatchNorm name) pairs that fold exactly; checked on ``x1``."""
    names: dict[int, list[str]] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), []).append(name)

    def plain(m: nn.Module) -> bool:  # one name, no parametrization
        return len(names[id(m)]) == 1 and not getattr(m, "parametrizations", None)

    convs = {id(m): m for m in model.modules() if type(m) in _CONVS and plain(m)}
    norms = {
        id(m): m
        for m in model.modules()
        if type(m) in _NORMS and plain(m) and not m.training and m.running_mean is not None
    }
    if not convs or not norms:
        return []
    owner = threading.get_ident()
    calls: dict[int, int] = {}
    conv_node: dict[int, Any] = {}
    norm_input: dict[int, Any] = {}

    def after_conv(m: nn.Module, args: object, output: object) -> None:
        if threading.get_ident() == owner:
            calls[id(m)] = calls.get(id(m), 0) + 1
            conv_node[id(m)] = getattr(output, "grad_fn", None)

    def before_norm(m: nn.Module, args: tuple) -> None:
        if threading.get_ident() == owner:
            calls[id(m)] = calls.get(id(m), 0) + 1
            norm_input[id(m)] = getattr(args[0], "grad_fn", None) if args else None

    handles = [m.register_forward_hook(after_conv) for m in convs.values()]
    handles += [m.register_forward_pre_hook(before_norm) for m in norms.values()]
    try:
        with torch.inference_mode(False), torch.enable_grad():
            out = model_logits(model(x1.detach().clone().requires_grad_(True)))
    except Exception:
        return []
    finally:
        for h in handles:
            h.remove()
    if not isinstance(out, Tensor) or out.grad_fn is None:
        return []
    users = _consumers(out.grad_fn)
    by_node = {node: key for key, node in conv_node.items() if node is not None}
    pairs = []
    for key, node in norm_input.items():
        conv_key = by_node.get(node)
        if conv_key is None or users.get(node) != 1:
            continue
        conv, norm = convs[conv_key], norms[key]
        if (
            calls.get(conv_key) != 1
            or calls.get(key) != 1
            or conv.out_channels != norm.num_features
        ):
            continue
        pairs.append((names[conv_key][0], names[key][0]))
    if not pairs:
        return []
    with torch.inference_mode():
        expected = out.detach()
        got = model_logits(_folded_copy(model, pairs)(x1))
    scale = float(expected.abs().max())
    if got.shape != expected.shape or float((got - expected).abs().max()) > 1e-3 * scale + 1e-5:
        return []  # the model does something the pairing cannot see: score it unfolded
    return pairs


def _consumers(root: Any) -> dict[Any, int]:
    """For every autograd node reachable from ``root``: how many nodes take its output."""
    users: dict[Any, int] = {}
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            users[nxt] = users.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return users


def _folded_copy(model: nn.Module, pairs: list[tuple[str, str]]) -> nn.Module:
    """``model`` with each pair's conv replaced by the folded conv and its BatchNorm by
    ``Identity``: only the modules on the way to them are copied (shallowly); everything else,
    and every other parameter and buffer, is the model's own."""
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    replacements: dict[str, nn.Module] = {}
    with torch.no_grad():
        for conv_name, norm_name in pairs:
            conv, norm = model.get_submodule(conv_name), model.get_submodule(norm_name)
            weight, bias = fuse_conv_bn_weights(
                conv.weight,
                conv.bias,
                norm.running_mean,
                norm.running_var,
                norm.eps,
                norm.weight,
                norm.bias,
            )
            fused = module_copy(conv)
            fused._parameters = dict(conv._parameters)
            fused._parameters["weight"] = nn.Parameter(weight.detach(), requires_grad=False)
            fused._parameters["bias"] = nn.Parameter(bias.detach(), requires_grad=False)
            replacements[conv_name] = fused
            replacements[norm_name] = nn.Identity()
    ancestors = {
        name.rsplit(".", i)[0] for name in replacements for i in range(1, name.count(".") + 1)
    }

    def rebuild(module: nn.Module, prefix: str) -> nn.Module:
        clone = module_copy(module)
        for child, sub in module._modules.items():
            path = prefix + child
            if path in replacements:
                clone._modules[child] = replacements[path]
            elif path in ancestors and sub is not None:
                clone._modules[child] = rebuild(sub, path + ".")
        return clone

    return rebuild(model, "")
