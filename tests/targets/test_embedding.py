"""Embedding targets: cosine similarity to a reference, by hand and on a headless ResNet-18."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import A
from torch import nn

import camlens
from camlens.methods.gradcam import GradCAM
from camlens.targets.embedding import SimilarityTarget


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small networks of many tiny ops: on a busy 2-core machine, a second intra-op thread
    mostly spins. One thread here; the previous setting is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class PooledEmbedding(nn.Module):
    """embedding e_k = mean_ij A_kij with A = features(x) = x: ∂e_k/∂A_kij = 1/(H·W)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def test_similarity_is_the_cosine():
    e = torch.tensor([3.0, 4.0, 0.0])
    r = torch.tensor([4.0, 3.0, 5.0])
    expected = (3 * 4 + 4 * 3) / (5.0 * math.sqrt(50.0))
    torch.testing.assert_close(SimilarityTarget(r)(e), torch.tensor(expected))
    torch.testing.assert_close(SimilarityTarget(r)(e), nn.CosineSimilarity(dim=0)(e, r))
    torch.testing.assert_close(SimilarityTarget(r.numpy())(e[None]), torch.tensor(expected))
    with pytest.raises(camlens.TargetError, match="reference has 3"):
        SimilarityTarget(r)(torch.zeros(4))


def test_gradcam_of_the_similarity_by_hand():
    # e = (mean A0, mean A1) = (2.5, 0.75); r = (0, 1): cos = 0.75 / |e|
    # ∂cos/∂e = r / (|e||r|) - cos · e / |e|²; G_k = (1/4) ∂cos/∂e_k everywhere, so α_k = G_k
    x = A[None].clone()
    e = torch.tensor([2.5, 0.75])
    r = torch.tensor([0.0, 1.0])
    norm = math.sqrt(2.5**2 + 0.75**2)
    cos = 0.75 / norm
    d_cos = r / norm - cos * e / norm**2
    alpha = d_cos / 4
    expected = torch.relu(alpha[0] * A[0] + alpha[1] * A[1])
    result = GradCAM(PooledEmbedding().eval(), "features").explain(x, [SimilarityTarget(r)])
    torch.testing.assert_close(result.scores, torch.tensor([cos]))
    torch.testing.assert_close(result.raw["features"][0], expected)


def test_resnet18_embedding_against_itself_and_another_image():
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = resnet18()
    model.fc = nn.Identity()
    model.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        embeddings = model(x)
    cam = GradCAM(model, "layer4")
    # its own embedding: similarity 1, the maximum, where the gradient vanishes
    own = cam.explain(x[:1], [SimilarityTarget(embeddings[0])])
    torch.testing.assert_close(own.scores, torch.ones(1))
    assert bool(torch.isfinite(own.maps).all()) and own.maps.shape == (1, 64, 64)
    assert own.raw["layer4"].abs().max() < 1e-6
    # the other image's embedding: the cosine of the two embeddings, a non-zero map
    other = cam.explain(x[:1], [SimilarityTarget(embeddings[1])])
    expected = torch.cosine_similarity(embeddings[0], embeddings[1], dim=0)
    torch.testing.assert_close(other.scores, expected[None])
    assert other.maps.max() == 1.0 and other.maps.min() >= 0
