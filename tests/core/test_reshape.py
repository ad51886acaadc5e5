"""Token and channel-last outputs laid out on the grid automatically."""

import pytest
import torch

from camlens.core.errors import LayerOutputError
from camlens.core.reshape import auto_reshape, token_grid


def test_cnn_maps_pass_through_and_channel_last_is_permuted():
    x_shape = (2, 3, 64, 64)
    a = torch.randn(2, 16, 8, 8)
    assert auto_reshape(a, x_shape) is a
    assert torch.equal(auto_reshape(a.permute(0, 2, 3, 1), x_shape), a)


CASES = [(0, 4, 4, (32, 32)), (1, 14, 14, (224, 224)), (2, 14, 14, (224, 224)), (5, 4, 6, (64, 96))]


@pytest.mark.parametrize(("extra", "h", "w", "size"), CASES)
def test_tokens_drop_leading_extra_tokens_and_fill_the_grid(extra, h, w, size):
    grid = torch.arange(h * w * 3, dtype=torch.float32).view(1, h * w, 3)
    tokens = torch.cat([torch.full((1, extra, 3), -1.0), grid], dim=1)
    out = auto_reshape(tokens, (1, 3, *size))
    assert out.shape == (1, 3, h, w)
    # the token at row r, column c is grid token r*w + c
    assert torch.equal(out[0, :, 1, 2], grid[0, 1 * w + 2])
    assert token_grid(tokens.shape[1], size) == (extra, (h, w))


def test_video_tokens_map_to_time_height_width():
    tokens = torch.randn(1, 2 * 4 * 4, 8)  # tubelet 2 over 4 frames, 4x4 patches
    out = auto_reshape(tokens, (1, 3, 4, 32, 32))
    assert out.shape == (1, 8, 2, 4, 4)


def test_1d_signals_are_channels_first():
    a = torch.randn(2, 8, 25)
    assert auto_reshape(a, (2, 1, 100)) is a


def test_unshapeable_output_is_a_clear_error():
    with pytest.raises(LayerOutputError, match="reshape_transform="):
        auto_reshape(torch.randn(2, 10), (2, 3, 32, 32), "fc")
    with pytest.raises(LayerOutputError):
        auto_reshape(torch.randn(2, 3, 5), (2, 3, 32, 32), "three tokens")
