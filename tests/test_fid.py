"""FID/KID against independent float64 references (scipy sqrtm, a direct MMD formula) and pytorch-fid's Inception."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from deep_weights import FID_FILE, save_random_fid_inception

import iqa
from iqa.weights import WeightsNotFoundError

scipy_linalg = pytest.importorskip("scipy.linalg")
fid_module = importlib.import_module("iqa.metrics.fid")


def random_covariance(rng, dim, samples):
    features = rng.standard_normal((samples, dim)) @ rng.standard_normal((dim, dim))
    return features.mean(axis=0), np.cov(features, rowvar=False)


def scipy_frechet(mu1, sigma1, mu2, sigma2):
    root = scipy_linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root.real))


# The last two have a singular sigma1 (n < D); there sqrtm's own error is ~1e-8 of the trace (see its self-distance).
@pytest.mark.parametrize("dim, samples1, samples2, tolerance",
                         [(16, 200, 200, 1e-9), (64, 1000, 1000, 1e-9), (32, 20, 200, 1e-8), (32, 20, 20, 1e-7)])
def test_frechet_distance_matches_scipy_sqrtm(dim, samples1, samples2, tolerance):
    rng = np.random.default_rng(dim)
    mu1, sigma1 = random_covariance(rng, dim, samples1)
    mu2, sigma2 = random_covariance(rng, dim, samples2)
    expected = scipy_frechet(mu1, sigma1, mu2, sigma2)
    actual = iqa.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert actual == pytest.approx(expected, rel=tolerance)
    assert abs(iqa.frechet_distance(mu1, sigma1, mu1, sigma1)) < 1e-10 * np.trace(sigma1)


def test_frechet_distance_rejects_imaginary_root():
    rng = np.random.default_rng(0)
    mu, sigma = random_covariance(rng, 8, 100)
    not_psd = sigma - 2 * np.abs(np.linalg.eigvalsh(sigma)).max() * np.eye(8) * 0.5
    with pytest.raises(ValueError, match="significant imaginary part"):
        iqa.frechet_distance(mu, sigma, mu, not_psd)
    with pytest.raises(ValueError, match="expected mu"):
        iqa.frechet_distance(mu, sigma, mu[:4], sigma)


def direct_mmd2_unbiased(a, b):
    """Sum over pairs with explicit loops over the kernel k(x, y) = (x.y / d + 1)^3."""
    m, d = a.shape

    def kernel(u, v):
        return (float(np.dot(u, v)) / d + 1) ** 3

    same_a = sum(kernel(a[i], a[j]) for i in range(m) for j in range(m) if i != j)
    same_b = sum(kernel(b[i], b[j]) for i in range(m) for j in range(m) if i != j)
    cross = sum(kernel(a[i], b[j]) for i in range(m) for j in range(m))
    return same_a / (m * (m - 1)) + same_b / (m * (m - 1)) - 2 * cross / (m * m)


def test_kid_matches_direct_formula():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((12, 5))
    b = rng.standard_normal((12, 5)) + 0.5
    # One subset of every sample: a permutation of each set, which MMD does not see.
    result = iqa.kid(a, b, subsets=1, subset_size=12)
    assert result.mean == pytest.approx(direct_mmd2_unbiased(a, b), rel=1e-12)
    assert result.std == 0.0 and float(result) == result.mean
    # Several subsets: mean and std of the per-subset direct values on the same draws.
    draws = np.random.default_rng(7)
    values = []
    for _ in range(5):
        pick_a, pick_b = draws.choice(12, 6, replace=False), draws.choice(12, 6, replace=False)
        values.append(direct_mmd2_unbiased(a[pick_a], b[pick_b]))
    several = iqa.kid(a, b, subsets=5, subset_size=6, seed=7)
    assert several.mean == pytest.approx(np.mean(values), rel=1e-12)
    assert several.std == pytest.approx(np.std(values), rel=1e-9)


def test_kid_clamps_subset_size_with_warning():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((10, 4)), rng.standard_normal((7, 4))
    with pytest.warns(UserWarning, match="using subset_size=7"):
        result = iqa.kid(a, b, subsets=3, subset_size=1000)
    assert np.isfinite(result.mean)
    with pytest.raises(ValueError, match="same width"):
        iqa.kid(a, b[:, :3])


def test_fid_warns_on_small_sets_and_statistics_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((30, 40)), rng.standard_normal((30, 40)) + 0.1
    with pytest.warns(UserWarning, match="30 samples for 40-d"):
        value = iqa.fid(a, b)
    stats = fid_module.FeatureStatistics.from_features(a, resize="bicubic-antialias")
    path = tmp_path / "reference.npz"
    stats.save(path)
    loaded = fid_module.FeatureStatistics.load(path)
    assert loaded.n == 30 and loaded.resize == "bicubic-antialias" and loaded.extractor == fid_module.EXTRACTOR
    np.testing.assert_array_equal(loaded.sigma, stats.sigma)
    np.testing.assert_array_equal(loaded.features, a.astype(np.float32))
    other = fid_module.FeatureStatistics.from_features(b)
    with pytest.raises(ValueError, match="resize"):
        fid_module.fid_from_statistics(loaded, other)
    other.resize = "bicubic-antialias"
    with pytest.warns(UserWarning):
        assert fid_module.fid_from_statistics(loaded, other) == pytest.approx(value, rel=1e-12)
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="bad.npz"):
        fid_module.FeatureStatistics.load(tmp_path / "bad.npz")


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory):
    home = tmp_path_factory.mktemp("torch_home")
    path = save_random_fid_inception(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(home))
        yield path


def test_inception_equals_pytorch_fid(fid_weights):
    """Same weights (random, in the TORCH_HOME where pytorch-fid looks), same pool3 features."""
    pytorch_fid = pytest.importorskip("pytorch_fid.inception")
    reference = pytorch_fid.InceptionV3([3]).eval()
    network = fid_module.FIDInception(torch.load(fid_weights, weights_only=True))
    images = torch.rand(2, 3, 80, 76, generator=torch.Generator().manual_seed(0))
    reference.resize_input = False  # the network alone, on inputs small enough to be quick
    with torch.no_grad():
        expected = reference(images)[0].flatten(1)
        actual = network(images)
    assert actual.shape == (2, 2048)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    # With pytorch-fid's own preprocessing (bilinear resize to 299), one image through iqa's full path.
    reference.resize_input = True
    with torch.no_grad():
        expected_full = reference(images[:1])[0].flatten(1)
    actual_full = iqa.inception_features(images[:1], weights=fid_weights)
    torch.testing.assert_close(actual_full, expected_full, atol=1e-5, rtol=1e-5)


def test_missing_fid_weights_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError) as error:
        iqa.inception_features(torch.rand(1, 3, 32, 32))
    assert FID_FILE in str(error.value) and "iqa weights import" in str(error.value)
    assert iqa.get_metric("fid").kind == "DIST" and iqa.get_metric("kid").needs_weights
