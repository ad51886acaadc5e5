"""Compatibility layers: other CAM libraries' APIs on top of camlens.

``camlens.compat.pytorch_grad_cam`` mirrors pytorch-grad-cam 1.5.7 (import paths, calls, numbers);
see docs/migration.md.
"""
