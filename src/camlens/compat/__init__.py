"""Compatibility layers: other CAM libraries' APIs on top of camlens.

* ``camlens.compat.pytorch_grad_cam`` mirrors pytorch-grad-cam 1.5.7 (import paths, calls,
  numbers);
* ``camlens.compat.torchcam`` mirrors torchcam 0.5's extractors and ``utils.overlay_mask``;
* ``camlens.compat.captum`` gives captum's ``LayerGradCam`` (signed, pre-ReLU maps).

See docs/migration.md.
"""
