"""Several methods on the same input, sharing one forward and one backward pass."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from .core.base import BaseCAM, Explanation
from .core.capture import ReshapeTransform
from .core.layers import LayersSpec
from .methods import get_method


def explain(
    model: nn.Module,
    input_tensor: Tensor,
    methods: Sequence[str | type[BaseCAM]] = ("gradcam",),
    target_layers: LayersSpec = (),
    targets: object = None,
    *,
    reshape_transform: ReshapeTransform | None = None,
    eigen_smooth: bool = False,
    differentiable: bool = False,
) -> dict[str, Explanation]:
    """Explain ``input_tensor`` with every method in ``methods`` from one capture.

    Returns ``{method name: Explanation}``. Gradient methods share one ``autograd.grad``;
    gradient-free ones (Eigen-CAM, CAM, Score-CAM) reuse the same activations. Methods that build
    their own capture (``shares_capture = False``: Smooth Grad-CAM++, SESS, Shapley-CAM,
    Finer-CAM) run on their own.
    """
    classes = [get_method(m) if isinstance(m, str) else m for m in methods]
    cams = [
        cls(model, target_layers, reshape_transform, differentiable=differentiable)
        for cls in classes
    ]
    names = [m if isinstance(m, str) else m.__name__ for m in methods]
    # A method that overrides explain_targets builds its own capture (FullGrad, Sobel-CAM, ...).
    shares = [c.shares_capture and type(c).explain_targets is BaseCAM.explain_targets for c in cams]
    sharing = [c for c, s in zip(cams, shares, strict=True) if s]
    capture = None
    if sharing:
        capture = sharing[0].adapter.capture(
            input_tensor,
            [targets],
            gradients=any(c.uses_gradients for c in sharing),
            differentiable=differentiable,
        )
    results = {}
    for name, cam, share in zip(names, cams, shares, strict=True):
        if share and capture is not None:
            results[name] = cam.explanations(capture, eigen_smooth=eigen_smooth)[0]
        else:  # builds its own capture (noisy copies, patches, second-order terms)
            results[name] = cam.explain(input_tensor, targets, eigen_smooth=eigen_smooth)
    return results
