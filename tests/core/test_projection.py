"""First principal component: batched, sign fixed, equal to a per-image numpy SVD up to sign."""

import numpy as np
import torch

from camlens.core.projection import first_principal_component


def test_matches_numpy_svd_up_to_sign_and_sign_agrees_with_activations():
    torch.manual_seed(0)
    acts = torch.relu(torch.randn(3, 16, 5, 6))
    ours = first_principal_component(acts)
    for b in range(3):
        x = acts[b].reshape(16, -1).T.double().numpy()
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=True)
        theirs = torch.from_numpy(x @ vt[0]).reshape(5, 6).float()
        sign = 1.0 if torch.allclose(ours[b], theirs, atol=1e-5) else -1.0
        torch.testing.assert_close(ours[b], sign * theirs, atol=1e-5, rtol=1e-5)
        channel_sum = acts[b].sum(0)
        assert float(((ours[b]) * (channel_sum - channel_sum.mean())).sum()) >= 0


def test_nan_is_treated_as_zero():
    acts = torch.rand(1, 4, 3, 3)
    acts[0, 0, 0, 0] = float("nan")
    assert torch.isfinite(first_principal_component(acts)).all()
