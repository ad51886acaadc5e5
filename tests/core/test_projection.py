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


def test_cancelling_channel_sums_take_the_largest_entry_positive_whatever_the_rounding():
    # Channels a and -a (LayerNorm-like: every position's channels sum to zero). Then
    # X = [a, -a] per position, centred c = a - mean(a); X v1 = ±√2 c. The channel sums are 0, so
    # they cannot choose the sign; the entry of largest magnitude is made positive instead:
    # a = (0, 1, 5, 2) -> c = (-2, -1, 3, 0) -> +√2 c (largest entry 3√2 > 0). Rounding-sized
    # channel sums of either sign (±1e-9) must not flip it.
    a = torch.tensor([0.0, 1.0, 5.0, 2.0], dtype=torch.float64)
    want = 2**0.5 * torch.tensor([-2.0, -1.0, 3.0, 0.0], dtype=torch.float64)
    for noise in (0.0, 1e-9, -1e-9):
        acts = torch.stack([a, -a + noise])[None, :, None, :]  # (1, 2, 1, 4)
        torch.testing.assert_close(first_principal_component(acts)[0, 0], want)
    # when the sums do not cancel they choose, even against that rule: channels (0, 3, 3, 2) and
    # a constant 3 -> c = (-2, 1, 1, 0); the sums (3, 6, 6, 5) agree with +c (6 > 0), whose
    # largest entry is negative
    acts = torch.tensor([[0.0, 3.0, 3.0, 2.0], [3.0] * 4], dtype=torch.float64)[None, :, None]
    torch.testing.assert_close(
        first_principal_component(acts)[0, 0],
        torch.tensor([-2.0, 1.0, 1.0, 0.0], dtype=torch.float64),
    )
