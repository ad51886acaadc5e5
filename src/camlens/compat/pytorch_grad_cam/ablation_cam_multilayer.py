"""Mirror of ``pytorch_grad_cam.ablation_cam_multilayer``: Ablation-CAM over several layers.

pytorch-grad-cam 1.5.7 keeps here an older ``AblationCAM`` that no longer runs (its
``get_cam_weights`` takes one argument fewer than its ``BaseCAM`` passes: ``TypeError`` on the
first call). The name is kept so imports work, and it is the compat :class:`AblationCAM`, which
takes any number of target layers (each layer's channels are ablated in turn and the per-layer
maps fused as pytorch-grad-cam fuses them). The old wrapper module ``AblationLayer(layer,
reshape_transform, indices)`` is not provided (its ``forward`` returns ``None`` in 1.5.7);
``ablation_layer.AblationLayer`` selects the ablation rule.
"""

from __future__ import annotations

from .ablation_cam import AblationCAM
from .utils.find_layers import replace_layer_recursive

__all__ = ["AblationCAM", "replace_layer_recursive"]
