"""Fitting a pristine NIQE model: library and `iqa niqe-fit`."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from iqa.cli import main
from iqa.data import load_sample
from iqa.metrics.niqe import fit_niqe_params, load_niqe_params, niqe, save_niqe_params

NAMES = ("astronaut", "coffee", "camera", "motorcycle_left")


@pytest.fixture(scope="module")
def pristine():
    return [torch.from_numpy(load_sample(name)[:288, :384]).permute(2, 0, 1)[None].float() / 255 for name in NAMES]


def noisy(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return (x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)


def test_fitted_model_prefers_its_pristine_images(pristine, tmp_path):
    model = fit_niqe_params(pristine)
    assert model["mu_pris_param"].shape == (1, 36) and model["cov_pris_param"].shape == (36, 36)
    assert np.allclose(model["cov_pris_param"], model["cov_pris_param"].T)
    # 12 blocks per image; the sharpness rule keeps only some of them.
    assert 2 <= model["block_count"] < 12 * len(NAMES)
    path = tmp_path / "model.npz"
    save_niqe_params(path, model)
    clean = torch.cat(pristine)
    clean_scores = niqe(clean, params=path, reduction="none")
    for sigma in (0.03, 0.08):
        assert torch.all(niqe(noisy(clean, sigma), params=path, reduction="none") > clean_scores)


def test_npz_round_trip(pristine, tmp_path):
    model = fit_niqe_params(pristine[:2], sharpness_threshold=0.5)
    path = tmp_path / "model.npz"
    save_niqe_params(path, model)
    mean, cov = load_niqe_params(path)
    assert np.array_equal(mean.numpy(), model["mu_pris_param"].ravel())
    assert np.array_equal(cov.numpy(), model["cov_pris_param"])
    x = pristine[2]
    assert torch.equal(niqe(x, params=path), niqe(x, params=model))


def test_stricter_threshold_keeps_fewer_blocks(pristine):
    strict = fit_niqe_params(pristine[:2], sharpness_threshold=0.9)["block_count"]
    assert strict < fit_niqe_params(pristine[:2], sharpness_threshold=0.3)["block_count"]


def test_fit_errors(pristine):
    with pytest.raises(ValueError, match="at least 2"):
        fit_niqe_params([])
    with pytest.raises(ValueError, match="sharpness_threshold"):
        fit_niqe_params(pristine, sharpness_threshold=1.5)
    with pytest.raises(ValueError, match="96x96"):
        fit_niqe_params([torch.rand(1, 3, 64, 300)])


def test_cli_fits_skips_bad_files_and_reports(tmp_path):
    folder = tmp_path / "pristine"
    folder.mkdir()
    for name in NAMES[:3]:
        Image.fromarray(load_sample(name)[:288, :384]).save(folder / f"{name}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    Image.fromarray(load_sample("coffee")[:50, :50]).save(folder / "tiny.png")
    output = tmp_path / "model.npz"
    result = CliRunner().invoke(main, ["niqe-fit", str(folder), "-o", str(output)])
    assert result.exit_code == 1, result.output
    assert "broken.png" in result.output and "tiny.png" in result.output and "3 image(s)" in result.output
    score = niqe(torch.rand(1, 1, 96, 96, generator=torch.Generator().manual_seed(3)), params=output)
    assert torch.isfinite(score)


def test_cli_usage_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["niqe-fit", str(empty), "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 2 and "no images" in result.output
    result = CliRunner().invoke(main, ["niqe-fit", str(tmp_path / "missing"), "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 2
