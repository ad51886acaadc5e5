"""Model-parameter randomisation test, cascading (Adebayo et al., "Sanity checks for saliency
maps", NeurIPS 2018, sec. 3).

On a deep copy of the model (the user's model is never touched), the parameterised layers (modules
owning parameters) are re-initialised one after another from the top (output) down, cumulatively;
"top" follows the forward pass (one extra forward of one image records the order in which the
layers return; layers that never run are left out).
After each step the explanation is re-run and compared with the original map:

    rho_i(k) = Spearman(L_i, L_i after randomising the top k layers)

``compute()`` = mean of rho over images and cascade steps (``per_image``: over the steps).
Lower is better: a method that passes changes when the model is randomised; one that ignores the
model (edge detector, fixed map) keeps rho = 1. ``metric.correlations`` (N, K) and
``metric.layer_names`` (top-down) give the curve.
Layers with ``reset_parameters()`` use it (PyTorch's default init), others get N(0, 1/fan_in)
weights; layer k (0 = top) under ``torch.manual_seed(seed + k)`` inside ``fork_rng`` (the
global generator state is restored).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ._method import MethodSpec, as_method, spearman
from ._utils import as_maps, check_inputs, class_indices, model_logits, need
from .base import PerImageMetric


def parameterised_layers(model: nn.Module, inputs: Tensor | None = None) -> list[str]:
    """Names of the modules owning parameters, top (output) first.

    With ``inputs``, the order is the forward's (a module is placed when its forward returns;
    modules that do not run are left out); without, reverse registration order.
    """
    owners = {
        n: m
        for n, m in model.named_modules()
        if next(m.parameters(recurse=False), None) is not None
    }
    if inputs is None:
        return list(owners)[::-1]
    finished: list[str] = []
    hooks = [
        m.register_forward_hook(lambda *_, name=n: finished.append(name)) for n, m in owners.items()
    ]
    try:
        with torch.inference_mode():
            model(inputs[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return list(dict.fromkeys(finished))[::-1]


def randomise(module: nn.Module, seed: int) -> None:
    """Re-initialise ``module``'s own parameters in place, reproducibly."""
    params = list(module.parameters(recurse=False))
    devices = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(seed)
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
            return
        for p in params:
            fan_in = p[0].numel() if p.ndim > 1 else p.numel()
            p.normal_(0.0, 1.0 / math.sqrt(max(fan_in, 1)))


class SanityRandomisation(PerImageMetric):
    """Cascading model-parameter randomisation (see the module docstring).

    ``rho_i(k) = Spearman(L_i, L_i after randomising the top k layers)``, averaged over images and
    steps; lower is better.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = SanityRandomisation()
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model,
        ...               method="gradcam", method_kwargs={"target_layers": "0"})
        >>> -1.0 <= metric.compute() <= 1.0
        True
    """

    name = "sanity_randomisation"
    higher_is_better = False
    requires = frozenset({"model", "method"})

    def __init__(
        self,
        method: MethodSpec | None = None,
        method_kwargs: Mapping[str, Any] | None = None,
        layers: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        self.method, self.method_kwargs = method, method_kwargs
        self.layers, self.seed = layers, seed
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._correlations: list[Tensor] = []
        self.layer_names: list[str] = []

    @property
    def correlations(self) -> Tensor:
        """``(N, K)`` Spearman correlation per image after each cascade step (top-down)."""
        if not self._correlations:
            return torch.zeros(0, len(self.layer_names), dtype=torch.float64)
        return torch.cat(self._correlations)

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        method: MethodSpec | None = None,
        method_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        inputs, model = check_inputs(inputs), need(model, "model", type(self).__name__)
        maps = as_maps(maps, inputs)
        run = as_method(method or self.method, model, method_kwargs or self.method_kwargs)
        logits = model_logits(model, inputs) if targets is None else None
        index = class_indices(targets, inputs.shape[0], inputs.device, logits)
        randomised = copy.deepcopy(model)  # hooks and re-initialisation touch only the copy
        if self.layers is not None:
            names = list(self.layers)
        else:
            names = parameterised_layers(randomised, inputs)
        if not names:
            raise InvalidInputError("the model has no parameterised layer that runs to randomise.")
        if self.layer_names and self.layer_names != names:
            raise InvalidInputError("update() got a model with other layers; use one metric each.")
        self.layer_names = names
        rho = []
        for k, name in enumerate(names):
            randomise(randomised.get_submodule(name), self.seed + k)
            rho.append(spearman(maps, as_maps(run(randomised, inputs, index), inputs)))
        self._correlations.append(torch.stack(rho, dim=1).cpu())
        self._values.append(self._correlations[-1].mean(dim=1))
