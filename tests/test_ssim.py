"""SSIM and MS-SSIM against scikit-image and piq, plus properties."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import structural_similarity

import iqa
from conftest import noisy, photo, to_tensor

WANG = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def matlab_gray_u8(image: np.ndarray) -> np.ndarray:
    """rgb2gray of a uint8 image as MATLAB computes it (written independently of iqa._color)."""
    coefficients = np.linalg.inv(np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]]))[0]
    return np.floor(image.astype(np.float64) @ coefficients + 0.5).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_ssim_gray_matches_scikit_image_with_wang_settings(name):
    reference = photo(name, 160)
    distorted = noisy(reference, 15)
    expected = structural_similarity(
        matlab_gray_u8(reference), matlab_gray_u8(distorted), data_range=255, **WANG
    )
    assert float(iqa.ssim(to_tensor(distorted), to_tensor(reference))) == pytest.approx(expected, abs=1e-5)


def test_ssim_rgb_matches_scikit_image_channel_mean():
    reference = photo("chelsea", 120)
    distorted = noisy(reference, 25, seed=3)
    expected = structural_similarity(reference, distorted, data_range=255, channel_axis=2, **WANG)
    actual = iqa.ssim(to_tensor(distorted), to_tensor(reference), color="rgb")
    assert float(actual) == pytest.approx(expected, abs=1e-5)


def test_ssim_float64_matches_scikit_image_tightly():
    rng = np.random.default_rng(1)
    x, y = rng.random((70, 90)), rng.random((70, 90))
    expected = structural_similarity(x, y, data_range=1.0, **WANG)
    actual = iqa.ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None])
    assert actual.dtype == torch.float64
    assert float(actual) == pytest.approx(expected, abs=1e-10)


def test_ssim_row_bands_of_a_wide_image_match_scikit_image():
    # 5000 columns force many row bands (the banding bounds memory on large images).
    rng = np.random.default_rng(2)
    x = rng.random((90, 5000)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1).astype(np.float32)
    expected = structural_similarity(x, y, data_range=1.0, **WANG)
    assert float(iqa.ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None])) == pytest.approx(
        expected, abs=1e-5
    )


def test_ssim_data_range_255_equals_range_1():
    x, y = to_tensor(photo("coffee", 96)), to_tensor(noisy(photo("coffee", 96), 10))
    assert float(iqa.ssim(x * 255, y * 255, data_range=255)) == pytest.approx(float(iqa.ssim(x, y)), abs=1e-5)


def test_ssim_wang2009_downsampling_matches_piq():
    piq = pytest.importorskip("piq")
    # 512x512: ssim.m and piq both downsample by f = 2 with the same 2x2 windows.
    gray = to_tensor(matlab_gray_u8(photo("astronaut", None)))
    distorted = to_tensor(matlab_gray_u8(noisy(photo("astronaut", None), 20)))
    expected = piq.ssim(distorted, gray, data_range=1.0, downsample=True)
    assert float(iqa.ssim(distorted, gray, downsample=True)) == pytest.approx(float(expected), abs=1e-5)
    assert float(iqa.ssim(distorted, gray, downsample=True)) != pytest.approx(float(iqa.ssim(distorted, gray)), abs=1e-3)


def test_ms_ssim_matches_piq_on_even_sizes():
    piq = pytest.importorskip("piq")
    gray = to_tensor(matlab_gray_u8(photo("astronaut", 256)))
    for sigma in (5, 20, 40):
        distorted = to_tensor(matlab_gray_u8(noisy(photo("astronaut", 256), sigma)))
        expected = piq.multi_scale_ssim(distorted, gray, data_range=1.0)
        assert float(iqa.ms_ssim(distorted, gray)) == pytest.approx(float(expected), abs=1e-5)


def test_ms_ssim_default_converts_rgb_like_matlab():
    reference, distorted = photo("coffee", 192), noisy(photo("coffee", 192), 20)
    on_gray = iqa.ms_ssim(to_tensor(matlab_gray_u8(distorted)), to_tensor(matlab_gray_u8(reference)))
    on_rgb = iqa.ms_ssim(to_tensor(distorted), to_tensor(reference))
    assert float(on_rgb) == pytest.approx(float(on_gray), abs=1e-6)


def test_ms_ssim_odd_sizes_use_matlab_symmetric_padding():
    # Independent check of one odd scale: downsample like msssim.m with numpy, then SSIM via scikit-image.
    rng = np.random.default_rng(0)
    x = rng.random((181, 185))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)

    def matlab_halve(image):
        padded = np.pad(image, ((0, image.shape[0] % 2), (0, image.shape[1] % 2)), mode="symmetric")
        return (padded[0::2, 0::2] + padded[1::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 1::2]) / 4

    one_level = iqa.ms_ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None], weights=(0.0, 1.0))
    expected = structural_similarity(matlab_halve(x), matlab_halve(y), data_range=1.0, **WANG)
    assert float(one_level) == pytest.approx(expected, abs=1e-8)


def test_ssim_rounding_follows_matlab_uint8_gray():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    other = noisy(rgb, 30)
    expected = structural_similarity(matlab_gray_u8(rgb), matlab_gray_u8(other), data_range=255, **WANG)
    assert float(iqa.ssim(to_tensor(rgb), to_tensor(other))) == pytest.approx(expected, abs=1e-5)
    unrounded = iqa.ssim(to_tensor(rgb), to_tensor(other), quantize=None)
    assert float(unrounded) != pytest.approx(expected, abs=1e-7)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(11, 40))
def test_ssim_properties(seed, size):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, size, size + 3, generator=generator, dtype=torch.float64)
    y = torch.rand(2, 3, size, size + 3, generator=generator, dtype=torch.float64)
    assert torch.allclose(iqa.ssim(x, x, reduction="none"), torch.ones(2, dtype=torch.float64))
    xy, yx = iqa.ssim(x, y, reduction="none"), iqa.ssim(y, x, reduction="none")
    assert torch.allclose(xy, yx)
    assert bool(((xy >= -1) & (xy <= 1)).all())


def test_ssim_decreases_with_noise():
    reference = photo("astronaut", 128)
    values = [float(iqa.ssim(to_tensor(noisy(reference, s)), to_tensor(reference))) for s in (2, 8, 20, 50)]
    assert values == sorted(values, reverse=True)


def test_ssim_and_ms_ssim_gradients_are_finite_and_nonzero(device):
    x = torch.rand(2, 3, 180, 180, device=device, requires_grad=True)
    y = torch.rand(2, 3, 180, 180, device=device)
    for loss in (iqa.SSIMLoss(), iqa.MSSSIMLoss(quantize=None)):
        loss(x, y).backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        x.grad = None


def test_loss_rejects_misspelt_option():
    with pytest.raises(TypeError):
        iqa.SSIMLoss(colour="y")


def test_batch_equals_single_images():
    x, y = torch.rand(3, 3, 40, 50), torch.rand(3, 3, 40, 50)
    batched = iqa.ssim(x, y, reduction="none")
    singles = torch.stack([iqa.ssim(x[i : i + 1], y[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, singles, atol=1e-6)


def test_too_small_images_are_rejected_with_sizes():
    with pytest.raises(ValueError, match="at least 11x11"):
        iqa.ssim(torch.rand(1, 1, 10, 30), torch.rand(1, 1, 10, 30))
    with pytest.raises(ValueError, match="176x176"):
        iqa.ms_ssim(torch.rand(1, 1, 170, 200), torch.rand(1, 1, 170, 200))
