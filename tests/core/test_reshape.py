"""Token and channel-last outputs laid out on the grid automatically."""

import pytest
import torch

from camlens.core.errors import LayerOutputError
from camlens.core.reshape import auto_reshape, token_grid


def test_uneven_strides_stay_channels_first():
    # Conv2d(stride=(4, 1)) on a 32x40 input: (B, 8, 8, 40) is 8 channels on an 8x40 grid
    a = torch.randn(1, 8, 8, 40)
    assert auto_reshape(a, (1, 3, 32, 40)) is a
    # odd input sizes: ResNet's layer4 on 65x97 is 3x4
    b = torch.randn(1, 512, 3, 4)
    assert auto_reshape(b, (1, 3, 65, 97)) is b


def test_swin_channel_last_on_small_and_large_inputs():
    small = torch.randn(1, 7, 7, 32)  # 56 px input, 7x7 grid, 32 channels
    assert auto_reshape(small, (1, 3, 56, 56)).shape == (1, 32, 7, 7)
    large = torch.randn(1, 7, 7, 768)
    assert auto_reshape(large, (1, 3, 224, 224)).shape == (1, 768, 7, 7)


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
