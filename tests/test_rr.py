"""Reduced-reference metrics (WNISM, RRED), the iqa.rr workflow and ``iqa rr extract``.

No independent implementation of either metric exists in Python, and MATLAB is
not available, so the checks are: the pyramid is pyrtools itself (the port of
the matlabPyrTools the authors call); the model pieces against scipy (the
generalized Gaussian, MATLAB ``hist``) and against a literal transcription of
the authors' ``extract_red_info.m``; and the properties the papers claim
(0 for the reference, growth with distortion, agreement with PSNR/SSIM).
"""
from __future__ import annotations

import importlib
import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("pyrtools")
scipy_stats = pytest.importorskip("scipy.stats")

import iqa
import iqa.rr
from iqa.data import sample_images

# The modules, not the functions of the same name that iqa.metrics re-exports.
rred_module = importlib.import_module("iqa.metrics.rred")
wnism_module = importlib.import_module("iqa.metrics.wnism")

NOISE_SIGMAS = (2 / 255, 5 / 255, 10 / 255, 20 / 255)
BLUR_SIGMAS = (0.5, 1.0, 1.5, 2.0)
VARIANTS = {
    "wnism": {},
    "wnism-float32": {"quantize_features": False},
    "rred": {},
    "rred-full": {"window": 1},
    "rred-single": {"grid": 1},
}


def _metric(variant: str) -> str:
    return variant.split("-")[0]


@pytest.fixture(scope="module")
def references() -> dict[str, torch.Tensor]:
    """Three sample photographs, 192x192 crops from the middle, float64."""
    crops = {}
    for name, image in sample_images("valid").items():
        top, left = (image.shape[-2] - 192) // 2, (image.shape[-1] - 192) // 2
        crops[name] = image[..., top : top + 192, left : left + 192].double()
    return crops


def _noisy(image: torch.Tensor, sigma: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(image.shape, generator=generator, dtype=image.dtype)
    return (image + sigma * noise).clamp(0, 1)


def _blurred(image: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = math.ceil(3 * sigma)
    taps = torch.exp(-torch.arange(-radius, radius + 1, dtype=image.dtype) ** 2 / (2 * sigma**2))
    taps = taps / taps.sum()
    channels = image.shape[1]
    padded = F.pad(image, (radius,) * 4, mode="reflect")
    rows = F.conv2d(padded, taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(rows, taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


DISTORTIONS = {"noise": (_noisy, NOISE_SIGMAS), "blur": (_blurred, BLUR_SIGMAS)}


@pytest.fixture(scope="module")
def features(references) -> dict[tuple[str, str], iqa.rr.Features]:
    return {
        (variant, name): iqa.rr.extract(image, _metric(variant), **options)
        for variant, options in VARIANTS.items()
        for name, image in references.items()
    }


@pytest.fixture(scope="module")
def scores(references, features) -> dict[tuple[str, str, str], list[float]]:
    """RR score per (variant, image, distortion) at each strength."""
    table = {}
    for (variant, name), record in features.items():
        for distortion, (apply, strengths) in DISTORTIONS.items():
            batch = torch.cat([apply(references[name], s) for s in strengths])
            values = iqa.rr.score([record] * len(strengths), batch)
            table[variant, name, distortion] = values.tolist()
    return table


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("variant", VARIANTS)
def test_undistorted_image_scores_best(variant, references, features):
    for name, image in references.items():
        value = iqa.rr.score(features[variant, name], image)
        if variant == "wnism":
            # d travels on an 8-bit grid of step 0.00025: 6 subbands x half a step at most.
            assert 0 <= value <= math.log2(1 + 6 * 0.000125 / 0.1)
        else:
            assert value == 0.0


@pytest.mark.parametrize("distortion", DISTORTIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_grows_with_distortion_strength(variant, distortion, references, features, scores):
    for name in references:
        values = scores[variant, name, distortion]
        undistorted = iqa.rr.score(features[variant, name], references[name])
        assert undistorted < values[0], (name, values)
        assert all(a < b for a, b in itertools.pairwise(values)), (name, values)


@pytest.mark.parametrize("distortion", DISTORTIONS)
@pytest.mark.parametrize("variant", ["wnism", "rred", "rred-full"])
def test_ranks_agree_with_full_reference_metrics(variant, distortion, references, scores):
    """Over all images and strengths of one distortion type, RR and FR scores rank the pairs alike."""
    apply, strengths = DISTORTIONS[distortion]
    rr_values, psnr_values, ssim_values = [], [], []
    for name, image in references.items():
        batch = torch.cat([apply(image, s) for s in strengths])
        reference = image.expand_as(batch)
        rr_values += scores[variant, name, distortion]
        psnr_values += iqa.psnr(batch, reference, reduction="none").tolist()
        ssim_values += iqa.ssim(batch, reference, reduction="none").tolist()
    # RR values are distortions (lower is better), PSNR/SSIM similarities. Across
    # different contents the FR metrics disagree with each other too (PSNR vs SSIM:
    # Spearman 0.62 on these blurred pairs), hence the margin.
    assert scipy_stats.spearmanr(rr_values, psnr_values)[0] < -0.6
    assert scipy_stats.spearmanr(rr_values, ssim_values)[0] < -0.6
    assert scipy_stats.spearmanr(rr_values, psnr_values)[0] + scipy_stats.spearmanr(rr_values, ssim_values)[0] < -1.6


# ------------------------------------------------------- side information size


def test_side_information_sizes(references, features):
    name = "astronaut"
    assert features["wnism", name].nbytes() == 21  # the authors' 162 bits
    assert features["wnism-float32", name].nbytes() == 72  # 18 float32
    assert features["rred", name].nbytes() == 256  # 8x8 float32
    assert features["rred-single", name].nbytes() == 4
    # Full subband: subband 16 is at half resolution, one number per 3x3 block.
    assert features["rred-full", name].nbytes() == 4 * (96 // 3) ** 2
    # The default side information does not grow with the image.
    large = iqa.rr.extract(sample_images("valid")["astronaut"][..., :384, :512], "rred")
    assert large.nbytes() == 256
    for variant in ("wnism", "wnism-float32", "rred", "rred-single"):
        assert len(features[variant, name].to_json()) < 2000


# ------------------------------------------------------------- serialization


@pytest.mark.parametrize("variant", VARIANTS)
def test_json_round_trip_keeps_features_and_scores(variant, references, features):
    image = references["coffee"]
    record = features[variant, "coffee"]
    restored = iqa.rr.Features.from_json(json.dumps(json.loads(record.to_json())))
    assert restored == record
    assert restored.metric == _metric(variant) and restored.version == iqa.__version__
    assert restored.image_size == (192, 192)
    distorted = _noisy(image, 5 / 255)
    assert iqa.rr.score(restored, distorted) == iqa.rr.score(record, distorted)


def test_feature_file_round_trip(tmp_path, references, features):
    store = iqa.rr.FeatureFile(tmp_path / "f.json", interval=0)
    for name in references:
        store.add(f"sub/{name}.png", features["rred", name])
        store.add(f"sub/{name}.png", features["wnism", name])
    store.close()
    loaded = iqa.rr.load_features(tmp_path / "f.json")
    assert sorted(loaded) == sorted(f"sub/{name}.png" for name in references)
    for name in references:
        assert loaded[f"sub/{name}.png"] == {"rred": features["rred", name], "wnism": features["wnism", name]}


def test_save_features_round_trip(tmp_path, features):
    table = {"a.png": {"wnism": features["wnism", "chelsea"]}, "b/c.png": {"rred": features["rred-full", "coffee"]}}
    iqa.rr.save_features(tmp_path / "f.json", table)
    assert iqa.rr.load_features(tmp_path / "f.json") == table


def test_load_features_rejects_other_files(tmp_path):
    (tmp_path / "scores.json").write_text('{"metrics": {}}')
    with pytest.raises(ValueError, match="not an iqa RR features file"):
        iqa.rr.load_features(tmp_path / "scores.json")
    (tmp_path / "broken.json").write_text('{"format": "iqa-rr-features/1", "images": {"a.png": {"rred": {}}}}')
    with pytest.raises(ValueError, match="lack the field"):
        iqa.rr.load_features(tmp_path / "broken.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        iqa.rr.load_features(tmp_path / "missing.json")


# -------------------------------------------------- model pieces vs references


def test_histogram_is_matlab_hist():
    """MATLAB ``hist(x, centers)``: bins split halfway between centers, the outer bins open-ended."""
    rng = np.random.default_rng(0)
    values = rng.laplace(scale=30, size=20000)
    centers = np.arange(-100, 101, 2.0)
    edges = np.concatenate([[-np.inf], (centers[:-1] + centers[1:]) / 2, [np.inf]])
    expected = np.histogram(values, edges)[0] / values.size
    np.testing.assert_array_equal(wnism_module._histogram(values, level=0), expected)


@pytest.mark.parametrize("alpha, beta", [(3.0, 0.7), (8.0, 1.0), (5.0, 2.0)])
def test_model_histogram_integrates_the_generalized_gaussian(alpha, beta):
    """``ggd_hist.m``'s midpoint sums against scipy's generalized normal CDF on the same bins."""
    masses = wnism_module._model_histogram(alpha, beta, level=0, bins=101)
    edges = np.arange(-101, 102, 2.0)
    expected = np.diff(scipy_stats.gennorm.cdf(edges, beta, scale=alpha))
    np.testing.assert_allclose(masses / masses.sum(), expected / expected.sum(), atol=2e-4)


@pytest.mark.parametrize("alpha, beta", [(4.0, 0.6), (6.0, 0.9), (10.0, 1.5)])
def test_fit_recovers_generalized_gaussian_parameters(alpha, beta):
    samples = scipy_stats.gennorm.rvs(beta, scale=alpha, size=200_000, random_state=1)
    fitted_alpha, fitted_beta = wnism_module._fit(wnism_module._histogram(samples, level=0), level=0)
    assert fitted_alpha == pytest.approx(alpha, rel=0.05)
    assert fitted_beta == pytest.approx(beta, rel=0.05)


def _extract_red_info_transcribed(band: np.ndarray, sigma_nsq: float) -> np.ndarray:
    """``extract_red_info.m`` line by line (column-major im2col, inv(cu)), without the pyramid."""
    blk = 3
    rows, cols = (s // blk * blk for s in band.shape)
    band = band[:rows, :cols]
    temp = np.stack([band[k : rows - (blk - 1 - k), j : cols - (blk - 1 - j)].ravel(order="F")
                     for j in range(blk) for k in range(blk)])
    centered = temp - temp.mean(axis=1, keepdims=True)
    cu = centered @ centered.T / temp.shape[1]
    eigenvalues, q = np.linalg.eig(cu)
    positive = eigenvalues * (eigenvalues > 0)
    cu = q @ np.diag(positive * eigenvalues.sum() / positive.sum()) @ q.T
    temp = np.stack([band[k::blk, j::blk].ravel(order="F") for j in range(blk) for k in range(blk)])
    ss = (np.linalg.inv(cu) @ temp * temp).sum(axis=0) / blk**2
    ss = ss.reshape((rows // blk, cols // blk), order="F")
    alpha = np.linalg.eigvals(cu).real
    alpha = alpha[alpha > 0]
    entropy = sum(np.log2(ss * a + sigma_nsq) + np.log(2 * np.pi * np.e) for a in alpha)
    return np.log2(1 + ss) * entropy


def test_scaled_entropies_match_the_authors_formulas():
    rng = np.random.default_rng(3)
    # A correlated, heavy-tailed field such as a subband: smoothed Laplacian noise times a slow envelope.
    raw = rng.laplace(size=(70, 64))
    band = (raw + np.roll(raw, 1, 0) * 0.6 + np.roll(raw, 1, 1) * 0.3) * np.linspace(0.5, 4, 64)
    expected = _extract_red_info_transcribed(band, 0.1)
    np.testing.assert_allclose(rred_module._scaled_entropies(band, 0.1), expected, rtol=1e-9)


@pytest.mark.parametrize("subband", [16, 25, 9])
def test_rred_subband_is_pyrtools_steerable_pyramid_band(subband):
    import pyrtools

    luminance = np.random.default_rng(0).uniform(0, 255, (100, 84))
    level, orientation = rred_module._subband_position(subband)
    pyramid = pyrtools.pyramids.SteerablePyramidSpace(luminance, height=4, order=5, edge_type="reflect1")
    np.testing.assert_array_equal(rred_module._subband(luminance, subband), pyramid.pyr_coeffs[level, orientation])


def test_subband_numbering_follows_ind2wtree():
    # ind2wtree reverses buildSpyr's list [hi0, 6 bands x 4 scales, lo0]: 16 -> row 11 -> scale 2, band 4.
    assert rred_module._subband_position(16) == (1, 3)
    assert rred_module._subband_position(25) == (0, 0)
    assert rred_module._subband_position(2) == (3, 5)


def test_rred_pooling_sums_blocks():
    entropies = np.arange(7 * 9, dtype=float).reshape(7, 9)
    windows = rred_module._window_sums(entropies, window=3, grid=None)
    assert windows.shape == (2, 3)
    assert windows[1, 2] == entropies[3:6, 6:9].sum()
    grid = rred_module._window_sums(entropies, window=None, grid=2)
    assert grid.sum() == entropies.sum() and grid.shape == (2, 2)
    assert rred_module._window_sums(entropies, window=None, grid=1).item() == entropies.sum()


# ------------------------------------------------------------- API and errors


def test_batches_take_one_record_per_image(references, features):
    batch = torch.cat([references["astronaut"], _noisy(references["coffee"], 10 / 255)])
    records = [features["rred", "astronaut"], features["rred", "coffee"]]
    values = iqa.rred(records, batch, reduction="none")
    assert values.shape == (2,) and values[0] == 0 and values[1] > 0
    assert iqa.rred(records, batch) == values.mean()
    both = iqa.rr.extract(batch, "rred")
    assert isinstance(both, list) and len(both) == 2
    assert iqa.rr.extract(references["astronaut"][0], "rred") == features["rred", "astronaut"]


def test_data_range_255(references, features):
    image = _noisy(references["chelsea"], 5 / 255)
    expected = iqa.rr.score(features["rred", "chelsea"], image)
    record = iqa.rr.extract(references["chelsea"] * 255, "rred", data_range=255)
    assert iqa.rr.score(record, image * 255, data_range=255) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_bad_input_is_named(references, features):
    image = references["astronaut"]
    with pytest.raises(ValueError, match="size mismatch"):
        iqa.rr.score(features["rred", "astronaut"], image[..., :180, :])
    with pytest.raises(ValueError, match="extracted for 'wnism'"):
        iqa.rred(features["wnism", "astronaut"], image)
    with pytest.raises(ValueError, match="window or grid"):
        iqa.rr.extract(image, "rred", window=2, grid=4)
    with pytest.raises(ValueError, match="at least 64x64"):
        iqa.rr.extract(image[..., :40, :40], "wnism")
    with pytest.raises(ValueError, match="not a reduced-reference metric"):
        iqa.rr.extract(image, "ssim")
    with pytest.raises(KeyError, match="did you mean 'rred'"):
        iqa.rr.extract(image, "rrde")
    with pytest.raises(TypeError, match="unexpected keyword"):
        iqa.rr.extract(image, "wnism", window=2)
    with pytest.raises(ValueError, match="outside"):
        iqa.rr.extract(image * 2, "rred")
    with pytest.raises(ValueError, match="2 feature records for 1 images"):
        iqa.rred([features["rred", "astronaut"]] * 2, image)


def test_wnism_warns_when_the_code_cannot_hold_the_model():
    # A tiny dark crop: its finest subbands are nearly all zero, alpha falls below the code's 1e-6.
    from iqa.data.samples import load_sample

    crop = torch.from_numpy(load_sample("coffee")[:80, :96, 0]).double()[None, None] / 255
    with pytest.warns(UserWarning, match="outside the range of the authors' 162-bit code"):
        iqa.rr.extract(crop, "wnism")
    exact = iqa.rr.extract(crop, "wnism", quantize_features=False)
    assert iqa.rr.score(exact, crop) == 0


def test_flat_image_does_not_break_rred():
    flat = torch.full((1, 1, 96, 96), 0.5, dtype=torch.float64)
    record = iqa.rr.extract(flat, "rred")
    assert iqa.rr.score(record, flat) == 0
    assert iqa.rr.score(record, _noisy(flat, 10 / 255)) > 0


# --------------------------------------------------------------------- CLI


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image

    from iqa.data.samples import load_sample

    root = tmp_path / "refs"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(load_sample("astronaut")[:128, :160]).save(root / "0801.png")
    Image.fromarray(load_sample("coffee")[100:228, 200:328, 0]).save(root / "sub" / "0802.png")
    return root


def _run(*args):
    from click.testing import CliRunner

    from iqa.cli import main

    return CliRunner().invoke(main, ["rr", "extract", *map(str, args)])


@pytest.mark.filterwarnings("error")
def test_cli_extract_writes_features_by_relative_name(image_folder, tmp_path):
    output = tmp_path / "features.json"
    result = _run(image_folder, "-o", output)
    assert result.exit_code == 0, result.output
    assert "wnism: 21 B per image" in result.output and "rred: 256 B per image" in result.output
    assert "side information: 554 B in all, 277 B per image" in result.output
    loaded = iqa.rr.load_features(output)
    assert sorted(loaded) == ["0801.png", "sub/0802.png"]
    from iqa.io import read_image

    reference = read_image(image_folder / "sub" / "0802.png").pixels
    assert loaded["sub/0802.png"]["rred"] == iqa.rr.extract(reference, "rred")
    assert iqa.rr.score(loaded["sub/0802.png"]["wnism"], reference) < 0.011


def test_cli_reports_bad_files_and_keeps_the_rest(image_folder, tmp_path):
    (image_folder / "broken.png").write_bytes(b"not an image")
    output = tmp_path / "features.json"
    result = _run(image_folder, "-o", output, "--metrics", "rred")
    assert result.exit_code == 1
    assert "broken.png" in result.output
    document = json.loads(output.read_text())
    assert sorted(document["images"]) == ["0801.png", "sub/0802.png"]
    assert document["errors"][0]["name"] == "broken.png"


def test_cli_resume_extracts_only_what_is_missing(image_folder, tmp_path, monkeypatch):
    output = tmp_path / "features.json"
    # A run killed after the first image: the file holds what was written so far.
    from iqa.io import read_image

    partial = iqa.rr.FeatureFile(output, interval=0)
    partial.add("0801.png", iqa.rr.extract(read_image(image_folder / "0801.png").pixels, "rred"))
    assert _run(image_folder, "-o", output).exit_code == 2  # refuses to overwrite without --resume
    calls = []
    extract = iqa.rr.extract
    monkeypatch.setattr(iqa.rr, "extract", lambda ref, metric, **o: calls.append(metric) or extract(ref, metric, **o))
    result = _run(image_folder, "-o", output, "--resume")
    assert result.exit_code == 0, result.output
    assert sorted(calls) == ["rred", "wnism", "wnism"]
    # Other pooling options make the stored RRED features stale: they are extracted again.
    calls.clear()
    assert _run(image_folder, "-o", output, "--resume", "--rred-window", "1").exit_code == 0
    assert calls == ["rred", "rred"]
    assert iqa.rr.load_features(output)["0801.png"]["rred"].options["window"] == 1


def test_cli_names_the_file_in_warnings(image_folder, tmp_path):
    from PIL import Image

    from iqa.data.samples import load_sample

    Image.fromarray(load_sample("coffee")[:80, :96, 0]).save(image_folder / "dark.png")
    result = _run(image_folder, "-o", tmp_path / "f.json", "--metrics", "wnism")
    assert result.exit_code == 0
    assert "warning: dark.png: WNISM: the subband model" in result.output


def test_cli_usage_errors(image_folder, tmp_path):
    result = _run(image_folder, "-o", tmp_path / "f.json", "--metrics", "rrde")
    assert result.exit_code == 2 and "did you mean 'rred'" in result.output
    result = _run(tmp_path / "nowhere", "-o", tmp_path / "f.json")
    assert result.exit_code == 2
    result = _run(image_folder, "-o", tmp_path / "f.json", "--rred-grid", "4", "--rred-window", "2")
    assert result.exit_code == 2 and "not both" in result.output
