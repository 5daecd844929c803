"""PSNR against scikit-image, GMSD against piq, the color conventions against MATLAB's documented values."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

import iqa
from conftest import noisy, photo, to_tensor
from test_ssim import matlab_gray_u8


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_psnr_matches_scikit_image(name):
    reference = photo(name, None)
    distorted = noisy(reference, 12)
    expected = peak_signal_noise_ratio(reference, distorted, data_range=255)
    assert float(iqa.psnr(to_tensor(distorted), to_tensor(reference))) == pytest.approx(expected, abs=1e-5)


def test_psnr_y_crop_is_the_sr_convention():
    reference, distorted = photo("chelsea", 100), noisy(photo("chelsea", 100), 9)

    def y_u8(image):  # MATLAB rgb2ycbcr on uint8, Y row, rounded
        return np.floor(16 + image.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255 + 0.5)

    cropped = (slice(4, -4), slice(4, -4))
    expected = peak_signal_noise_ratio(y_u8(reference)[cropped], y_u8(distorted)[cropped], data_range=255)
    actual = iqa.psnr(to_tensor(distorted), to_tensor(reference), color="y", crop_border=4)
    assert float(actual) == pytest.approx(expected, abs=1e-4)


def test_psnr_properties():
    x = torch.rand(4, 3, 16, 16, dtype=torch.float64)
    assert torch.isinf(iqa.psnr(x, x)).item()
    y = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)
    assert torch.allclose(iqa.psnr(x, y, reduction="none"), iqa.psnr(y, x, reduction="none"))


def test_color_conversions_give_matlab_values_for_primaries():
    # MATLAB: rgb2gray(uint8 red/green/blue) = 76/150/29; rgb2ycbcr(...) Y = 81/145/41.
    primaries = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]).T.reshape(1, 3, 1, 3)
    from iqa.metrics._color import convert_color

    gray = convert_color(primaries, "gray") * 255
    luma = convert_color(primaries, "y") * 255
    assert gray.flatten().tolist() == pytest.approx([76, 150, 29], abs=1e-4)
    assert luma.flatten().tolist() == pytest.approx([81, 145, 41], abs=1e-4)


@pytest.mark.parametrize("shape", [(96, 128), (97, 131)])
def test_gmsd_matches_piq_on_one_channel(shape):
    piq = pytest.importorskip("piq")
    reference = photo("astronaut", 160)[: shape[0], : shape[1]]
    gray, distorted = matlab_gray_u8(reference), matlab_gray_u8(noisy(reference, 20))
    x, y = to_tensor(distorted), to_tensor(gray)
    # piq takes the population std (1/N); GMSD.m's std2 normalizes by N - 1.
    samples = -(-shape[0] // 2) * -(-shape[1] // 2)
    expected = float(piq.gmsd(x, y, data_range=1.0)) * (samples / (samples - 1)) ** 0.5
    assert float(iqa.gmsd(x, y)) == pytest.approx(expected, abs=1e-6)


def test_gmsd_default_on_rgb_uses_matlab_gray():
    reference, distorted = photo("coffee", 100), noisy(photo("coffee", 100), 15)
    on_gray = iqa.gmsd(to_tensor(matlab_gray_u8(distorted)), to_tensor(matlab_gray_u8(reference)))
    assert float(iqa.gmsd(to_tensor(distorted), to_tensor(reference))) == pytest.approx(float(on_gray), abs=1e-7)


def test_gmsd_hand_checked_constant_images():
    # Flat images have zero gradients inside; the quality map is 1 except where zero padding
    # creates edges, so two identical flat images give GMSD 0 and different flat levels give > 0.
    flat = torch.full((1, 1, 16, 16), 0.5)
    assert float(iqa.gmsd(flat, flat)) == 0.0
    assert float(iqa.gmsd(flat, flat * 0.5)) > 0.0


def test_gmsd_grows_with_noise_and_has_gradients(device):
    reference = photo("astronaut", 96)
    values = [float(iqa.gmsd(to_tensor(noisy(reference, s)), to_tensor(reference))) for s in (2, 10, 30)]
    assert values == sorted(values)
    x = to_tensor(noisy(reference, 10)).to(device).requires_grad_()
    iqa.GMSDLoss(quantize=None)(x, to_tensor(reference).to(device)).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("metric", [iqa.psnr, iqa.ssim, iqa.ms_ssim, iqa.gmsd])
def test_dtype_is_kept(metric):
    x = torch.rand(1, 3, 192, 192, dtype=torch.float64)
    assert metric(x, x.flip(-1)).dtype == torch.float64
