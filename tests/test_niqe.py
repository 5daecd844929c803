"""NIQE against pyiqa's implementation, scipy filtering, brute-force AGGD fitting, and its expected behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _pyiqa_oracle import pyiqa_float64  # noqa: F401  (fixture)

import iqa
from iqa.data import load_sample
from iqa.metrics._nss import _nearest_shape, mscn
from iqa.metrics.niqe import load_niqe_params, niqe, save_niqe_params

# rgb2gray.m's coefficients, computed here independently of iqa's own constants.
MATLAB_GRAY = np.linalg.inv([[1, 0.956, 0.621], [1, -0.272, -0.647], [1, -1.106, 1.703]])[0]


@pytest.fixture(scope="module")
def photos():
    names = ("astronaut", "coffee", "chelsea", "camera", "brick", "retina")
    return {name: torch.from_numpy(load_sample(name)).permute(2, 0, 1)[None].float() / 255 for name in names}


def matlab_gray_u8(rgb: torch.Tensor) -> torch.Tensor:
    """MATLAB ``rgb2gray`` of an 8-bit image (rounded), as (N, 1, H, W) float64 in [0, 1]."""
    u8 = (rgb.double().numpy() * 255).round()
    gray = np.floor(np.einsum("nchw,c->nhw", u8, MATLAB_GRAY) + 0.5)
    return torch.from_numpy(gray / 255)[:, None]


def pyiqa_niqe(gray: torch.Tensor) -> torch.Tensor:
    from pyiqa.archs.niqe_arch import calculate_niqe

    mean, cov = load_niqe_params()
    return calculate_niqe(gray, 0, mu_pris_param=mean[None], cov_pris_param=cov).flatten()


def test_matches_pyiqa_on_photographs(photos, pyiqa_float64):
    # Sizes that are not multiples of 96 check the block crop; the noisy astronaut adds a
    # photograph with large flat areas (noise removes pixels that equal their local mean
    # exactly, where pyiqa's rounding noise flips signs; see mscn()).
    astronaut = photos["astronaut"][..., :300, :400]
    noise = torch.randn(astronaut.shape, generator=torch.Generator().manual_seed(0)) * 0.03
    images = [photos["coffee"], photos["chelsea"], photos["brick"][..., :250, :400], (astronaut + noise).clamp(0, 1)]
    for rgb in images:
        gray = matlab_gray_u8(rgb)
        torch.testing.assert_close(niqe(gray, reduction="none"), pyiqa_niqe(gray), rtol=2e-6, atol=0)


def test_flat_regions_differ_from_pyiqa_only_by_its_rounding_noise(photos, pyiqa_float64, monkeypatch):
    # retina has a black surround: thousands of pixels equal their local mean. pyiqa keeps the
    # +-1e-13 rounding residue there (signs at random), iqa snaps it to 0. Removing the residue
    # from pyiqa's coefficients makes the two agree; with it, NIQE differs by about 1%.
    import pyiqa.archs.niqe_arch as niqe_arch

    gray = matlab_gray_u8(photos["retina"][..., 100:484, 100:612])
    with_residue = pyiqa_niqe(gray)
    unsnapped = niqe_arch.normalize_img_with_gauss
    snap = lambda *a, **k: (lambda m: torch.where(m.abs() < 1e-11, torch.zeros_like(m), m))(unsnapped(*a, **k))  # noqa: E731
    monkeypatch.setattr(niqe_arch, "normalize_img_with_gauss", snap)
    ours = niqe(gray, reduction="none")
    torch.testing.assert_close(ours, pyiqa_niqe(gray), rtol=5e-5, atol=0)
    assert not torch.allclose(ours, with_residue, rtol=1e-4, atol=0)


def test_default_color_is_matlab_rgb2gray_of_8bit(photos, pyiqa_float64):
    rgb = photos["chelsea"][..., :200, :300].double()
    torch.testing.assert_close(niqe(rgb, reduction="none"), pyiqa_niqe(matlab_gray_u8(rgb)), rtol=2e-6, atol=0)


def test_mscn_matches_scipy_replicate_filtering(photos):
    from scipy.ndimage import correlate

    window = np.load(iqa.data.__path__[0] + "/niqe_pris_params.npz")["gaussian_window"]
    image = (matlab_gray_u8(photos["coffee"])[0, 0].numpy() * 255)[:200, :300]
    mean = correlate(image, window, mode="nearest")
    sigma = np.sqrt(np.abs(correlate(image * image, window, mode="nearest") - mean * mean))
    expected = (image - mean) / (sigma + 1)
    ours = mscn(torch.from_numpy(image)[None])[0][0].numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-9, rtol=0)


def test_shape_lookup_equals_matlab_brute_force_argmin():
    from scipy.special import gamma

    shapes = 0.2 + 0.001 * np.arange(9801)
    ratios = gamma(2 / shapes) ** 2 / (gamma(1 / shapes) * gamma(3 / shapes))
    rng = np.random.default_rng(0)
    targets = np.concatenate([rng.uniform(0.0, 0.8, 2000), ratios[::97], [0.01, 0.9]])
    expected = shapes[np.argmin((ratios[None, :] - targets[:, None]) ** 2, axis=1)]
    np.testing.assert_allclose(_nearest_shape(torch.from_numpy(targets)).numpy(), expected, rtol=0, atol=1e-12)
    # MATLAB's min over an all-NaN vector returns index 1.
    assert float(_nearest_shape(torch.tensor([float("nan")], dtype=torch.float64))) == pytest.approx(0.2)


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_grows_with_blur_and_noise(photos, name):
    from torchvision.transforms.functional import gaussian_blur

    x = photos[name][..., :192, :288]
    blurred = [x] + [gaussian_blur(x, 2 * round(3 * s) + 1, s) for s in (1.0, 2.0, 3.0)]
    generator = torch.Generator().manual_seed(1)
    noisy = [(x + s * torch.randn(x.shape, generator=generator)).clamp(0, 1) for s in (0.0, 0.02, 0.05, 0.1)]
    for series in (blurred, noisy):
        scores = niqe(torch.cat(series), reduction="none")
        assert torch.all(scores.diff() > 0), scores


def test_batch_equals_per_image(photos):
    crops = torch.cat([photos[name][..., :200, :250] for name in ("astronaut", "coffee", "camera")]).double()
    batched = niqe(crops, reduction="none")
    single = torch.stack([niqe(crop[None]) for crop in crops])
    torch.testing.assert_close(batched, single, rtol=1e-12, atol=0)
    assert niqe(crops).ndim == 0 and niqe(crops.float()).dtype == torch.float32


def test_rgb_color_is_the_mean_over_channels(photos):
    x = photos["coffee"][..., :192, :192]
    per_channel = torch.stack([niqe(x[:, [c]]) for c in range(3)])
    torch.testing.assert_close(niqe(x, color="rgb"), per_channel.mean())


def test_crop_border_and_data_range(photos):
    x = photos["chelsea"][..., :200, :300]
    torch.testing.assert_close(niqe(x, crop_border=10), niqe(x[..., 10:-10, 10:-10]))
    torch.testing.assert_close(niqe(x * 255, data_range=255), niqe(x), rtol=1e-5, atol=0)


def test_params_from_file_and_mapping(tmp_path):
    mean, cov = load_niqe_params()
    path = tmp_path / "model.npz"
    save_niqe_params(path, {"mu_pris_param": mean.numpy()[None], "cov_pris_param": cov.numpy()})
    x = torch.rand(2, 1, 100, 130, generator=torch.Generator().manual_seed(2))
    published = niqe(x, reduction="none")
    torch.testing.assert_close(niqe(x, params=str(path), reduction="none"), published, rtol=0, atol=0)
    torch.testing.assert_close(niqe(x, params=np.load(path), reduction="none"), published, rtol=0, atol=0)


def test_errors():
    x = torch.rand(1, 3, 96, 120)
    with pytest.raises(ValueError, match="at least 96x96"):
        niqe(torch.rand(1, 3, 95, 200))
    with pytest.raises(ValueError, match="at least 96x96"):
        niqe(x, crop_border=1)
    with pytest.raises(ValueError, match="color"):
        niqe(x, color="lab")
    with pytest.raises(TypeError, match="floating-point"):
        niqe((x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="outside"):
        niqe(x * 2)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        niqe(x, params="missing.npz")
    with pytest.raises(ValueError, match="not a NIQE model"):
        niqe(x, params=__file__)
    with pytest.raises(ValueError, match="lacks cov_pris_param"):
        niqe(x, params={"mu_pris_param": np.zeros(36)})
    with pytest.raises(ValueError, match="36"):
        niqe(x, params={"mu_pris_param": np.zeros(18), "cov_pris_param": np.eye(18)})
