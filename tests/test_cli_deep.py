"""`iqa weights`, `iqa weights import`, `iqa fid` and `iqa kid` on tiny inputs, through click's CliRunner."""
from __future__ import annotations

import hashlib
import importlib
import json

import numpy as np
import pytest
from click.testing import CliRunner
from deep_weights import FID_FILE, save_random_fid_inception
from PIL import Image

import iqa.weights
from iqa.cli import main

fid_module = importlib.import_module("iqa.metrics.fid")


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def trust(monkeypatch, key, path):
    """Make the table's checksum for ``key`` the one of this test file, as if it were the real download."""
    entry = iqa.weights.KNOWN_WEIGHTS[key]
    fake = iqa.weights.WeightsFile(entry.key, entry.filename, sha256(path)[:8], entry.url, entry.used_by)
    monkeypatch.setitem(iqa.weights.KNOWN_WEIGHTS, key, fake)


def test_weights_lists_every_file_and_folder(torch_home, tmp_path):
    result = CliRunner().invoke(main, ["weights", "--weights-dir", str(tmp_path / "mine"), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["search_dirs"] == [str(tmp_path / "mine"), str(torch_home / "hub" / "checkpoints")]
    names = {row["filename"] for row in report["files"]}
    assert names == {e.filename for e in iqa.weights.KNOWN_WEIGHTS.values()}
    assert not any(row["present"] for row in report["files"])
    table = CliRunner().invoke(main, ["weights"])
    assert table.exit_code == 0 and "missing" in table.output and "alexnet-owt-7be5be79.pth" in table.output


def test_weights_import_recognises_the_file_by_checksum(torch_home, tmp_path, monkeypatch):
    download = tmp_path / "downloaded-under-another-name.pth"
    download.write_bytes(b"pretend these are the AlexNet weights")
    refused = CliRunner().invoke(main, ["weights", "import", str(download)])
    assert refused.exit_code == 1 and "matches no known weights file" in refused.output
    trust(monkeypatch, "alexnet", download)
    result = CliRunner().invoke(main, ["weights", "import", str(download)])
    assert result.exit_code == 0, result.output
    target = torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert target.read_bytes() == download.read_bytes()
    assert iqa.weights.find_weights("alexnet") == target
    listing = json.loads(CliRunner().invoke(main, ["weights", "--format", "json"]).output)
    assert [row["valid"] for row in listing["files"] if row["key"] == "alexnet"] == [True]


def write_images(folder, count, seed):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (24 + 8 * index, 32, 3), dtype=np.uint8)).save(folder / f"{index}.png")


def test_fid_and_kid_commands(torch_home, tmp_path, monkeypatch):
    weights = save_random_fid_inception(torch_home)
    trust(monkeypatch, "fid_inception", weights)  # found in the cache like the real file
    write_images(tmp_path / "a", 2, seed=0)
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    stats_a = tmp_path / "a.npz"
    # A saved reference set (random features): no Inception pass for it; more rows than dimensions
    # keep its covariance positive definite, as a real reference set's is.
    reference = fid_module.FeatureStatistics.from_features(np.random.default_rng(1).standard_normal((2100, 2048)))
    reference.save(tmp_path / "b.npz")

    with pytest.warns(UserWarning, match="2 samples for 2048-d"):
        result = CliRunner().invoke(main, ["fid", str(tmp_path / "a"), str(tmp_path / "b.npz"),
                                           "--save-stats-a", str(stats_a), "--format", "json"])
    assert result.exit_code == 1, result.output  # the broken file is reported; the others are scored
    report = json.loads(result.stdout)
    assert report["n_a"] == 2 and report["errors"][0]["name"].endswith("broken.png")
    saved = fid_module.FeatureStatistics.load(stats_a)
    with pytest.warns(UserWarning):
        assert report["fid"] == pytest.approx(fid_module.fid_from_statistics(saved, reference), rel=1e-12)

    (tmp_path / "a" / "broken.png").unlink()
    with pytest.warns(UserWarning, match="using subset_size=2"):
        kid = CliRunner().invoke(main, ["kid", str(stats_a), str(tmp_path / "b.npz"), "--subsets", "4",
                                        "--format", "json"])
    assert kid.exit_code == 0, kid.output
    expected = iqa.kid(saved.features, reference.features, subsets=4, subset_size=2)
    assert json.loads(kid.stdout)["kid"] == pytest.approx(expected.mean, rel=1e-12)


def test_fid_without_weights_fails_clearly(torch_home, tmp_path):
    write_images(tmp_path / "a", 1, seed=0)
    result = CliRunner().invoke(main, ["fid", str(tmp_path / "a"), str(tmp_path / "a")])
    assert result.exit_code == 1
    assert FID_FILE in result.output and "iqa weights import" in result.output
    usage = CliRunner().invoke(main, ["fid", str(tmp_path / "a"), str(tmp_path / "missing")])
    assert usage.exit_code == 2
