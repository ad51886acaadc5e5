"""Training with explanation constraints: make a model's evidence obey annotations.

- :class:`RRRLoss` / :func:`rrr_penalty` — Right for the Right Reasons (Ross et al., 2017):
  squared input gradients of the log-probabilities inside a must-not-use mask.
- :class:`CAMEnergyLoss` / :func:`cam_energy_penalty` — the share of Grad-CAM (or LayerCAM)
  energy inside a must-not-use mask, or outside a look-here mask.
- :class:`CAMGuidedAugment` — erase or swap the most-evidence (or flagged) region.

Masks come from annotations or from an audit finding
(:func:`camlens.audit.masks.shared_region_masks`). See docs/training.md.
"""

from __future__ import annotations

from .augment import CAMGuidedAugment, evidence_region
from .cam_energy import CAMEnergyLoss, cam_energy_penalty, energy_share
from .rrr import RRRLoss, input_gradients, rrr_penalty

__all__ = [
    "CAMEnergyLoss",
    "CAMGuidedAugment",
    "RRRLoss",
    "cam_energy_penalty",
    "energy_share",
    "evidence_region",
    "input_gradients",
    "rrr_penalty",
]
