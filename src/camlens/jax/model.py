"""``FlaxModel``: a Flax module bound to what it needs to run, as camlens explains it.

Light on purpose: nothing of JAX or Flax is imported until the model runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..core.errors import InvalidInputError


def module_kind(module: object) -> str | None:
    """``"linen"``, ``"nnx"`` or ``None`` (not a Flax module), by the module's class ancestry."""
    for cls in type(module).__mro__:
        name = cls.__module__
        if name.startswith("flax.linen"):
            return "linen"
        if name.startswith("flax.nnx"):
            return "nnx"
    return None


class FlaxModel:
    """A Flax module with its variables: ``camlens.GradCAM(FlaxModel(module, variables), "block")``.

    Args:
        module: a Flax linen ``nn.Module`` (then ``variables`` is required: what ``module.init``
            returned, e.g. ``{"params": ...}`` or ``{"params": ..., "batch_stats": ...}``) or an
            NNX ``nnx.Module`` (it holds its own state; ``variables`` must be ``None``; the state is
            read at every call, so later weight updates are seen).
        variables: the linen module's variables.
        apply_kwargs: keyword arguments of every call (e.g. ``{"train": False}``); linen's
            ``module.apply(variables, x, **apply_kwargs)``, NNX's ``module(x, **apply_kwargs)``.

    Inputs are channels last ``(B, H, W, C)`` as Flax's convolutions take them (numpy or JAX
    arrays), or torch tensors ``(B, C, H, W)`` (camlens' own layout). The model's output (or its
    first element / its ``"logits"`` entry) is what targets score.

    Shapes: camlens gives ``(B, C, H, W)`` torch images (transposed to Flax's ``(B, H, W, C)``);
    maps come back ``(B, H, W)``.

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
        >>> GradCAM(FlaxModel(net, variables), target_layers="conv")(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 8, 8])
    """

    camlens_framework: ClassVar[str] = "jax"

    def __init__(
        self,
        module: Any,
        variables: Mapping[str, Any] | None = None,
        *,
        apply_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        kind = module_kind(module)
        if kind is None:
            raise InvalidInputError(
                f"FlaxModel takes a Flax linen or NNX module, not {type(module).__name__}."
            )
        if kind == "linen" and variables is None:
            raise InvalidInputError(
                f"the linen module {type(module).__name__} has no variables of its own: pass "
                "them, FlaxModel(module, variables) with variables = module.init(rng, x)."
            )
        if kind == "nnx" and variables is not None:
            raise InvalidInputError(
                f"the NNX module {type(module).__name__} holds its own state: FlaxModel(module) "
                "without variables."
            )
        self.module = module
        self.variables = variables
        self.kind = kind
        self.apply_kwargs = dict(apply_kwargs or {})

    def __call__(self, x: Any) -> Any:
        """The module's output on a channels-last JAX/numpy batch (no camlens involved)."""
        if self.kind == "linen":
            return self.module.apply(self.variables, x, **self.apply_kwargs)
        return self.module(x, **self.apply_kwargs)

    def __repr__(self) -> str:
        return f"FlaxModel({type(self.module).__name__}, {self.kind})"


def as_flax_model(model: object) -> FlaxModel:
    """``model`` as a :class:`FlaxModel`: a bare NNX module is wrapped; a bare linen module
    cannot run without its variables (typed error saying how to bind them)."""
    if isinstance(model, FlaxModel):
        return model
    kind = module_kind(model)
    if kind == "nnx":
        return FlaxModel(model)
    if kind == "linen":
        raise InvalidInputError(
            f"a linen module ({type(model).__name__}) needs its variables: explain "
            "camlens.jax.FlaxModel(module, variables) with variables = module.init(rng, x)."
        )
    wrapped = getattr(model, "camlens_flax_model", None)
    if isinstance(wrapped, FlaxModel):
        return wrapped
    raise InvalidInputError(
        f"{type(model).__name__} is not a Flax model; wrap a module as "
        "camlens.jax.FlaxModel(module, variables)."
    )
