"""iqa.stats against scipy, and iqa bench end to end on tiny generated images."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

import iqa
import iqa.data
from iqa.bench import BenchConfig, default_models, format_table, run_bench, write_report
from iqa.bench.runner import select_metrics
from iqa.metrics.registry import METRICS, MetricSpec
import iqa.models
from iqa.models.bicubic import Bicubic
from iqa.stats import bootstrap_ci, summarize, wilcoxon_signed_rank

scipy_stats = pytest.importorskip("scipy.stats")

METRIC_NAMES = ["psnr", "ssim", "gmsd"]


# ------------------------------------------------------------------------------------------ statistics


def _wilcoxon_cases():
    rng = np.random.default_rng(7)
    cases = []
    for n in (1, 3, 5, 8, 12, 13, 14, 20, 50, 51, 80):
        x = rng.normal(size=n)
        cases.append((f"distinct-{n}", x, x + rng.normal(0.4, 1.0, size=n)))
        rounded = np.round(rng.normal(size=n), 1)
        cases.append((f"ties-zeros-{n}", rounded, np.round(rounded + rng.normal(0.2, 0.3, size=n), 1)))
    return cases


@pytest.mark.parametrize("label,x,y", _wilcoxon_cases(), ids=[c[0] for c in _wilcoxon_cases()])
def test_wilcoxon_matches_scipy(label, x, y):
    if np.all(x == y):
        pytest.skip("scipy gives nan when every difference is zero")
    expected = scipy_stats.wilcoxon(x, y)
    statistic, p_value = wilcoxon_signed_rank(x, y)
    assert statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


def test_wilcoxon_of_identical_samples_is_one():
    x = np.array([28.1, 30.2, 25.7, 31.0])
    assert wilcoxon_signed_rank(x, x) == (0.0, 1.0)


def test_bootstrap_ci_agrees_with_scipy_and_contains_mean():
    values = np.random.default_rng(3).gamma(2.0, 3.0, size=40)
    low, high = bootstrap_ci(values, n_resamples=20_000, seed=1)
    reference = scipy_stats.bootstrap((values,), np.mean, n_resamples=20_000, method="percentile",
                                      random_state=np.random.default_rng(2)).confidence_interval
    # Two independent Monte Carlo estimates of the same quantiles.
    tolerance = 0.05 * values.std()
    assert low == pytest.approx(reference.low, abs=tolerance)
    assert high == pytest.approx(reference.high, abs=tolerance)
    assert low < values.mean() < high
    assert bootstrap_ci(values, n_resamples=500, seed=4) == bootstrap_ci(values, n_resamples=500, seed=4)


def test_summarize_drops_non_finite_and_handles_one_value():
    summary = summarize([1.0, 3.0, float("inf"), float("nan")])
    assert summary["n"] == 2 and summary["mean"] == 2.0 and summary["median"] == 2.0
    assert summarize([5.0])["ci95"] == [5.0, 5.0]
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=1.5)


# ------------------------------------------------------------------------------------------ fixtures


class TinySR(nn.Module):
    """A throwaway PixelShuffle network with random weights that counts its calls."""

    def __init__(self, scale: int = 4, seed: int = 0):
        super().__init__()
        self.scale = scale
        torch.manual_seed(seed)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)
        )
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.sigmoid(self.body(x))


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    """Four smooth random 8-bit images of 50x46 pixels (not multiples of 4, so the HR crop is exercised)."""
    folder = tmp_path_factory.mktemp("hr")
    rng = np.random.default_rng(0)
    for index in range(4):
        coarse = torch.from_numpy(rng.random((1, 3, 7, 6))).float()
        image = torch.nn.functional.interpolate(coarse, size=(50, 46), mode="bicubic", align_corners=False).clamp(0, 1)
        array = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(array).save(folder / f"img{index}.png")
    return folder


def _config(image_dir: Path, out_dir: Path, models, **options) -> BenchConfig:
    return BenchConfig(models=models, data=str(image_dir), metrics=METRIC_NAMES, device="cpu",
                       out_dir=str(out_dir), n_resamples=500, **options)


@pytest.fixture(scope="module")
def report(image_dir, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("report")
    models = {"bicubic-x4": "bicubic-x4", "tiny": TinySR(), "bicubic-again": Bicubic(4)}
    results = run_bench(_config(image_dir, out_dir, models, save_outputs=True))
    write_report(results, out_dir)
    return results, out_dir


# ------------------------------------------------------------------------------------------ end to end


def _strict_json(path: Path):
    def reject(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(path.read_text(), parse_constant=reject)


def test_report_files_are_present_and_well_formed(report):
    results, out_dir = report
    stored = _strict_json(out_dir / "results.json")
    assert stored["models"] == ["bicubic-x4", "tiny", "bicubic-again"]
    assert set(stored["summary"]["tiny"]) == set(METRIC_NAMES)
    assert stored["iqa_version"] == iqa.__version__
    assert all(stored["metrics"][m]["convention"] for m in METRIC_NAMES)
    assert len(stored["images"]) == 3 * 4 and not stored["errors"]
    assert {"model", "name", "psnr", "ssim", "gmsd", "time_ms"} <= set(stored["images"][0])
    for model in stored["models"]:
        assert stored["timings"][model]["ms_per_image"] > 0 and stored["timings"][model]["n"] == 4
    assert stored["timings"]["tiny"]["params"] == sum(p.numel() for p in TinySR().parameters())
    csv_lines = (out_dir / "results.csv").read_text().splitlines()
    assert csv_lines[0].split(",")[:2] == ["model", "name"] and len(csv_lines) == 1 + 12
    page = (out_dir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('src="data:image/png;base64,') >= 3 + 4 + 1 + 2  # plots, grid, speed
    assert "http://" not in page and "https://" not in page  # self-contained
    for name in ["perception_distortion.png", "ci_psnr.png", "ci_ssim.png", "ci_gmsd.png", "speed.png"]:
        assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert (out_dir / "outputs" / "tiny" / "img0.png").is_file()
    table = format_table(results)
    assert table.splitlines()[0].split() == ["metric", "model", "mean", "95%", "CI", "delta", "vs", "baseline", "p"]
    assert "bicubic-again" in table and "ms/image" in table


def test_ci_contains_mean_and_self_comparison_is_not_significant(report):
    results, _ = report
    for model, metrics in results["summary"].items():
        for metric, entry in metrics.items():
            assert entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1], (model, metric)
            assert entry["n"] == 4
    for metric in METRIC_NAMES:
        same = results["summary"]["bicubic-again"][metric]
        assert same["p_value"] == 1.0 and same["delta"] == 0.0
        assert results["summary"]["bicubic-x4"][metric]["p_value"] is None  # the baseline


def test_bicubic_row_equals_direct_imresize_and_psnr(report, image_dir):
    results, _ = report
    rows = {row["name"]: row for row in results["images"] if row["model"] == "bicubic-x4"}
    for path in sorted(image_dir.glob("*.png")):
        hr = torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1)[None].float() / 255
        hr = hr[..., :48, :44]
        lr = (iqa.imresize(hr, 0.25).clamp(0, 1) * 255).round() / 255
        sr = (iqa.imresize(lr, 4.0).clamp(0, 1) * 255).round() / 255
        expected = float(iqa.psnr(sr, hr, color="y", crop_border=4))
        assert rows[path.name]["psnr"] == pytest.approx(expected, abs=1e-5)


def test_resume_skips_done_pairs(image_dir, tmp_path):
    first = run_bench(_config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "tiny": TinySR()}))
    rows_file = tmp_path / "rows.jsonl"
    lines = rows_file.read_text().splitlines()
    assert len(lines) == 8
    # A run killed while writing its fourth row: three complete rows and a torn line.
    rows_file.write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])
    done = {(json.loads(line)["model"], json.loads(line)["name"]) for line in lines[:3]}
    counting = TinySR()
    resumed = run_bench(_config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "tiny": counting}, resume=True))
    tiny_left = sum(1 for name in ("img0.png", "img1.png", "img2.png", "img3.png") if ("tiny", name) not in done)
    assert counting.calls == tiny_left + 1  # the pending images and one warm-up
    assert len(resumed["images"]) == 8
    for before, after in zip(first["images"], resumed["images"]):
        assert (before["model"], before["name"]) == (after["model"], after["name"])
        assert before["psnr"] == pytest.approx(after["psnr"], abs=1e-9)
    with pytest.raises(ValueError, match="other settings"):
        run_bench(_config(image_dir, tmp_path, ["bicubic-x4"], resume=True, color="rgb"))


def test_defaults_pick_bundled_models_and_runnable_metrics(monkeypatch):
    def no_loading(name, device=None):
        raise AssertionError(f"{name} loaded only to read its scale")

    with monkeypatch.context() as patch:
        patch.setattr(iqa.models, "load", no_loading)  # the scale is on the model cards
        models = default_models(4)
    assert models[0] == "bicubic-x4" and all(name.endswith("-x4") for name in models)

    def needs_missing_weights(x, y, **options):
        raise FileNotFoundError("weights fake.pth not found in the torch hub cache")

    module = types.ModuleType("iqa_fake_weights_metric")
    module.score = needs_missing_weights
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(METRICS, "fake", MetricSpec("fake", "FR", True, (0.0, 1.0), False, True, None, "test",
                                                    f"{module.__name__}:score"))
    metrics, skipped = select_metrics(None, BenchConfig(), torch.device("cpu"))
    names = [m.spec.name for m in metrics]
    assert {"psnr", "ssim", "gmsd"} <= set(names) and "fake" not in names
    assert "not found" in skipped["fake"]
    with pytest.raises(ValueError, match="cannot run"):
        select_metrics(["fake"], BenchConfig(), torch.device("cpu"))


def test_scale_mismatch_is_a_clear_error(image_dir, tmp_path):
    with pytest.raises(ValueError, match="upscales by 2"):
        run_bench(_config(image_dir, tmp_path, ["bicubic-x2"]))


def test_cli(image_dir, tmp_path):
    from iqa.cli import main

    out_dir = tmp_path / "cli"
    arguments = ["bench", "--models", "bicubic-x4", "--data", str(image_dir), "--metrics", "psnr",
                 "--device", "cpu", "--report", str(out_dir), "--resamples", "200"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "bicubic-x4" in result.output and (out_dir / "report.html").is_file()
    wrong = CliRunner().invoke(main, arguments[:-4] + ["--metrics", "psnrr"])
    assert wrong.exit_code == 2 and "did you mean 'psnr'" in wrong.output


@pytest.mark.parametrize("option, value", [("--tile", "100"), ("--tile-overlap", "4")])
def test_cli_rejects_tiles_that_are_not_multiples_of_8(image_dir, tmp_path, option, value):
    from iqa.cli import main

    result = CliRunner().invoke(main, ["bench", "--models", "bicubic-x4", "--data", str(image_dir), "--metrics", "psnr",
                                       "--device", "cpu", "--report", str(tmp_path), option, value])
    assert result.exit_code == 2 and "multiples of 8" in result.output
    assert not (tmp_path / "rows.jsonl").exists()


def test_cli_tile_0_means_no_tiling(image_dir, tmp_path):
    from iqa.cli import main

    result = CliRunner().invoke(main, ["bench", "--models", "bicubic-x4", "--data", str(image_dir), "--metrics", "psnr",
                                       "--device", "cpu", "--report", str(tmp_path), "--resamples", "50", "--tile", "0"])
    assert result.exit_code == 0, result.output


def test_convention_label_is_the_one_iqa_score_reports(image_dir, tmp_path):
    from iqa.cli import main

    options = ["--metrics", "ssim", "--color", "y", "--crop-border", "4"]
    bench = CliRunner().invoke(main, ["bench", "--models", "bicubic-x4", "--data", str(image_dir), "--device", "cpu",
                                      "--report", str(tmp_path / "bench"), "--resamples", "50", *options])
    assert bench.exit_code == 0, bench.output
    score = CliRunner().invoke(main, ["score", str(image_dir), str(image_dir), "--format", "json", *options])
    assert score.exit_code == 0, score.output
    scored = json.loads(score.stdout)["metrics"]["ssim"]["convention"]
    benched = json.loads((tmp_path / "bench" / "results.json").read_text())["metrics"]["ssim"]["convention"]
    assert benched == scored == "y/u8,crop=4"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_cpu_processes_match_one(image_dir, tmp_path, report):
    """Two gloo ranks each score half of the images; rank 0 merges them into the same results."""
    out_dir = tmp_path / "ddp"
    env = dict(os.environ, PYTHONPATH=str(Path(iqa.__file__).parents[1]), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={_free_port()}", "-m", "iqa", "bench", "--models", "bicubic-x4", "--data",
               str(image_dir), "--metrics", ",".join(METRIC_NAMES), "--device", "cpu", "--report", str(out_dir),
               "--resamples", "200"]
    completed = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert (out_dir / "rows.rank0.jsonl").is_file() and (out_dir / "rows.rank1.jsonl").is_file()
    merged = _strict_json(out_dir / "results.json")
    single = {row["name"]: row for row in report[0]["images"] if row["model"] == "bicubic-x4"}
    assert [row["name"] for row in merged["images"]] == sorted(single)
    for row in merged["images"]:
        for metric in METRIC_NAMES:
            assert row[metric] == pytest.approx(single[row["name"]][metric], abs=1e-9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_timing_reports_peak_memory(image_dir, tmp_path):
    config = _config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "tiny": TinySR()})
    config.device = "cuda"
    results = run_bench(config)
    assert results["device"].startswith("cuda")
    assert all(results["timings"][m]["peak_mem_mb"] > 0 for m in results["models"])
    assert all(row["time_ms"] > 0 for row in results["images"])


def test_div2k_layout_uses_the_given_lr_images(image_dir, tmp_path):
    """In a DIV2K root the LR input is read from DIV2K_valid_LR_bicubic/X4, not made from HR."""
    hr_dir, lr_dir = tmp_path / "DIV2K_valid_HR", tmp_path / "DIV2K_valid_LR_bicubic" / "X4"
    hr_dir.mkdir()
    lr_dir.mkdir(parents=True)
    source = Image.open(image_dir / "img0.png").crop((0, 0, 44, 48))
    source.save(hr_dir / "0801.png")
    source.resize((11, 12), Image.BOX).save(lr_dir / "0801x4.png")  # deliberately not MATLAB bicubic
    results = run_bench(BenchConfig(models=["bicubic-x4"], data=str(tmp_path), metrics=["psnr"], device="cpu",
                                    out_dir=str(tmp_path / "out"), n_resamples=100))
    hr = torch.from_numpy(np.array(source)).permute(2, 0, 1)[None].float() / 255
    lr = torch.from_numpy(np.array(Image.open(lr_dir / "0801x4.png"))).permute(2, 0, 1)[None].float() / 255
    sr = (iqa.imresize(lr, 4.0).clamp(0, 1) * 255).round() / 255
    expected = float(iqa.psnr(sr, hr, color="y", crop_border=4))
    assert results["images"][0]["name"] == "0801.png"
    assert results["images"][0]["psnr"] == pytest.approx(expected, abs=1e-5)
    assert results["conventions"]["lr"] == "given LR images"


def test_an_lr_folder_inside_the_hr_folder_is_not_benchmarked_as_hr(image_dir, tmp_path):
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "hr" / "lr"
    lr_dir.mkdir(parents=True)
    source = Image.open(image_dir / "img0.png").crop((0, 0, 44, 48))
    source.save(hr_dir / "a.png")
    source.resize((11, 12), Image.BOX).save(lr_dir / "a.png")
    results = run_bench(BenchConfig(models=["bicubic-x4"], data=str(hr_dir), lr_dir=str(lr_dir), metrics=["psnr"],
                                    device="cpu", out_dir=str(tmp_path / "out"), n_resamples=100))
    assert [row["name"] for row in results["images"]] == ["a.png"]
    assert results["conventions"]["lr"] == "given LR images"


def test_checkpoint_paths_get_short_labels(tmp_path):
    from iqa.bench.runner import _labelled

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "weights.safetensors").touch()
    (tmp_path / "other.safetensors").touch()
    names = ["bicubic-x4", str(tmp_path / "mine" / "weights.safetensors"), str(tmp_path / "other.safetensors")]
    assert [label for label, _ in _labelled(names)] == ["bicubic-x4", "mine", "other"]
    clash = [str(tmp_path / "other.safetensors"), str(tmp_path / "mine" / ".." / "other.safetensors")]
    assert [label for label, _ in _labelled(clash)] == clash


@pytest.mark.slow
def test_bench_without_arguments_writes_the_default_report(tmp_path, monkeypatch):
    from iqa.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench"])
    assert result.exit_code == 0, result.output
    stored = _strict_json(tmp_path / "bench-report" / "results.json")
    assert stored["models"][0] == "bicubic-x4" and stored["dataset"]["names"] == sorted(iqa.data.VALID_NAMES)
    assert {"psnr", "ssim", "gmsd"} <= set(stored["metrics"])
    assert stored["metrics"]["psnr"]["convention"] == "y/u8,crop=4"


class Broken(nn.Module):
    scale = 4

    def forward(self, x):
        raise RuntimeError("CUDA out of memory (simulated)")


def test_a_failing_model_is_reported_not_fatal(image_dir, tmp_path):
    results = run_bench(_config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "broken": Broken()}))
    files = write_report(results, tmp_path)
    assert len(results["errors"]) == 4 and "out of memory" in results["errors"][0]["error"]
    assert results["summary"]["broken"]["psnr"]["n"] == 0
    assert results["summary"]["bicubic-x4"]["psnr"]["n"] == 4
    assert "out of memory" in files["html"].read_text()
    # Non-finite values are written as iqa score writes them.
    assert _strict_json(files["json"])["summary"]["broken"]["psnr"]["mean"] == "nan"
    from iqa.cli import main

    arguments = ["bench", "--models", "bicubic-x4", "--data", str(image_dir), "--metrics", "ms_ssim",
                 "--device", "cpu", "--report", str(tmp_path / "cli"), "--resamples", "100"]
    too_small = CliRunner().invoke(main, arguments)  # MS-SSIM needs larger images: scored as failures
    assert too_small.exit_code == 1, too_small.output


def test_resume_keeps_only_the_errors_that_still_stand(image_dir, tmp_path):
    first = run_bench(_config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "flaky": Broken()}))
    assert len(first["errors"]) == 4
    again = run_bench(_config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "flaky": Broken()}, resume=True))
    assert len(again["errors"]) == 4  # the same failures once, not once per run
    without = run_bench(_config(image_dir, tmp_path, ["bicubic-x4"], resume=True))
    assert without["errors"] == []  # "flaky" is not in this run
    fixed = run_bench(_config(image_dir, tmp_path, {"bicubic-x4": "bicubic-x4", "flaky": TinySR()}, resume=True))
    assert fixed["errors"] == [] and fixed["summary"]["flaky"]["psnr"]["n"] == 4


def test_device_errors_are_clear():
    from iqa.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def _mean_brightness(x, *, data_range=1.0, color="gray", crop_border=0, reduction="mean"):
    """A stand-in no-reference metric: mean luminance after the shared color front end."""
    from iqa.metrics._color import prepare
    from iqa.metrics._validate import reduce

    return reduce(prepare(x, color, crop_border, data_range, 8).mean(dim=(1, 2, 3)), reduction)


def test_no_reference_metrics_also_score_the_ground_truth(image_dir, tmp_path, monkeypatch):
    module = types.ModuleType("iqa_fake_nr_metric")
    module.score = _mean_brightness
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(METRICS, "brightness", MetricSpec("brightness", "NR", True, (0.0, 1.0), True, False, "gray",
                                                          "test stand-in", f"{module.__name__}:score"))
    results = run_bench(BenchConfig(models=["bicubic-x4"], data=str(image_dir), metrics=["psnr", "brightness"],
                                    device="cpu", out_dir=str(tmp_path), n_resamples=200))
    files = write_report(results, tmp_path)
    expected = []
    for path in sorted(image_dir.glob("*.png")):
        hr = torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1)[None].float()[..., :48, :44] / 255
        expected.append(float(_mean_brightness(hr, color="y", crop_border=4)))
    assert results["reference"]["brightness"]["mean"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert "psnr" not in results["reference"]
    assert "perception_distortion.png" in [p.name for p in files.values()]
    assert "ground truth (HR)" in files["html"].read_text()
    assert sum(row["model"] == "ground truth" for row in results["images"]) == 4
