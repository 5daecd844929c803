"""`iqa score` end to end: pairing, formats, bad input, resume, exit codes."""
import csv
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from conftest import noisy, photo, to_tensor
from iqa.cli import main
from iqa.io import ImageReadError, read_image


def save(path, array, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)


@pytest.fixture
def folders(tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "out"
    for index, name in enumerate(["astronaut", "coffee", "chelsea"]):
        image = photo(name, 64)
        save(ref / f"{name}.png", image)
        save(out / f"{name}.png", noisy(image, 5 + 5 * index, seed=index))
    return ref, out


def run(*args):
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    return result


def test_json_output_follows_the_contract_and_matches_the_library(folders, tmp_path):
    ref, out = folders
    result = run("score", ref, out, "--format", "json", "--metrics", "psnr,ssim")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) >= {"iqa_version", "metrics", "summary", "images", "errors"}
    assert document["metrics"]["ssim"] == {
        "kind": "FR", "higher_is_better": True, "convention": "gray/u8,crop=0",
        "definition": iqa.get_metric("ssim").convention,
    }
    row = next(r for r in document["images"] if r["name"] == "coffee.png")
    expected = iqa.ssim(to_tensor(np.asarray(Image.open(out / "coffee.png"))), to_tensor(photo("coffee", 64)))
    assert row["ssim"] == pytest.approx(float(expected), abs=1e-6)
    summary = document["summary"]["psnr"]
    assert summary["n"] == 3 and summary["ci95"][0] <= summary["mean"] <= summary["ci95"][1]


def test_bad_inputs_become_errors_and_the_rest_is_scored(folders):
    ref, out = folders
    (out / "chelsea.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)  # corrupt
    (ref / "empty.png").write_bytes(b"")
    (out / "empty.png").write_bytes(b"")
    save(ref / "small.png", photo("astronaut", 32))
    save(out / "small.png", photo("astronaut", 30))  # size mismatch
    save(ref / "lonely.png", photo("astronaut", 32))  # no output
    save(out / "extra.png", photo("astronaut", 32))  # no reference
    result = run("score", ref, out, "--format", "json", "--metrics", "psnr")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    errors = {entry["name"]: entry["error"] for entry in document["errors"]}
    assert "corrupt" in errors["chelsea.png"] or "not a readable image" in errors["chelsea.png"]
    assert "empty file" in errors["empty.png"]
    assert errors["small.png"] == f"size mismatch: ref 32x32, out 30x30 ({out / 'small.png'})"
    assert "no output" in errors["lonely.png"] and "no reference" in errors["extra.png"]
    assert sorted(row["name"] for row in document["images"]) == ["astronaut.png", "coffee.png"]


def test_metric_failing_for_one_image_keeps_its_other_values(folders):
    ref, out = folders  # 64x64 images are too small for MS-SSIM (176x176)
    result = run("score", ref, out, "--format", "json", "--metrics", "psnr,ms_ssim")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert all("psnr" in row and "ms_ssim" not in row for row in document["images"])
    assert all(entry["error"].startswith("ms_ssim: ") for entry in document["errors"])


def test_out_suffix_subfolders_and_formats(tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "out"
    image = photo("coffee", 48)
    save(ref / "set5" / "bird.png", image)
    save(out / "set5" / "bird_x4.png", noisy(image, 10))
    save(ref / "gray.png", image[..., 0])
    save(out / "gray_x4.png", noisy(image, 10))  # gray reference, RGB output
    result = run("score", ref, out, "--out-suffix", "_x4", "--format", "csv", "--metrics", "psnr,gmsd")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [row["name"] for row in rows] == ["gray.png", "set5/bird.png"]
    jsonl = run("score", ref, out, "--out-suffix", "_x4", "--format", "jsonl", "--metrics", "psnr")
    assert [json.loads(line)["name"] for line in jsonl.stdout.splitlines()] == ["gray.png", "set5/bird.png"]


def test_resume_skips_rows_already_written(folders, tmp_path):
    ref, out = folders
    output = tmp_path / "scores.jsonl"
    first = run("score", ref, out, "--format", "jsonl", "-o", output, "--metrics", "psnr")
    assert first.exit_code == 0
    lines = output.read_text().splitlines()
    # Simulate a run killed after the first row, with a half-written second line.
    output.write_text(lines[0] + "\n" + lines[1][:10])
    resumed = run("score", ref, out, "--format", "jsonl", "-o", output, "--metrics", "psnr", "--resume")
    assert resumed.exit_code == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(row["name"] for row in rows) == ["astronaut.png", "chelsea.png", "coffee.png"]
    assert rows[0] == json.loads(lines[0])


def test_json_output_file_keeps_a_journal_until_done(folders, tmp_path):
    ref, out = folders
    output = tmp_path / "scores.json"
    assert run("score", ref, out, "--format", "json", "-o", output, "--metrics", "ssim").exit_code == 0
    assert not (tmp_path / "scores.json.partial.jsonl").exists()
    assert json.loads(output.read_text())["summary"]["ssim"]["n"] == 3
    again = run("score", ref, out, "--format", "json", "-o", output, "--metrics", "ssim", "--resume")
    assert again.exit_code == 0 and json.loads(output.read_text())["summary"]["ssim"]["n"] == 3


def test_usage_errors_exit_2(folders):
    ref, out = folders
    unknown = run("score", ref, out, "--metrics", "ssmi")
    assert unknown.exit_code == 2 and "did you mean 'ssim'" in unknown.output
    assert run("score", ref, out, "--resume").exit_code == 2
    assert run("score", ref, out, ref).exit_code == 2


def test_table_format_prints_summary(folders):
    ref, out = folders
    result = run("score", ref, out, "--format", "table", "--metrics", "psnr,ssim,gmsd", "--color", "y",
                 "--crop-border", "4", "--workers", "0")
    assert result.exit_code == 0
    assert "95% CI" in result.stdout and "y/u8,crop=4" in result.stdout


@pytest.mark.parametrize(
    "mode, suffix, expected_channels, note",
    [("L", ".png", 1, ""), ("P", ".png", 3, ""), ("RGBA", ".png", 3, "alpha dropped"),
     ("RGB", ".bmp", 3, ""), ("RGB", ".tif", 3, ""), ("RGB", ".webp", 3, ""), ("RGB", ".jpg", 3, "")],
)
def test_read_image_formats(tmp_path, mode, suffix, expected_channels, note):
    path = tmp_path / f"image{suffix}"
    Image.fromarray(photo("coffee", 40)).convert(mode).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    decoded = read_image(path)
    assert decoded.pixels.shape == (expected_channels, 40, 40) and decoded.bits == 8 and decoded.note == note
    if suffix in (".png", ".bmp", ".tif", ".webp") and mode != "P":
        reference = np.asarray(Image.open(path).convert("L" if expected_channels == 1 else "RGB"))
        assert np.array_equal((decoded.pixels * 255).round().byte().permute(1, 2, 0).squeeze(-1).numpy(), reference)


def test_read_16_bit_png(tmp_path):
    values = np.arange(0, 65536, 64, dtype=np.uint16).reshape(32, 32)
    Image.fromarray(values).save(tmp_path / "deep.png")
    decoded = read_image(tmp_path / "deep.png")
    assert decoded.bits == 16
    assert torch.equal((decoded.pixels[0] * 65535).round().to(torch.int64), torch.from_numpy(values.astype(np.int64)))


def test_read_errors_name_the_file(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 10)
    with pytest.raises(ImageReadError, match="bad.jpg"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(ImageReadError, match="missing.png: cannot read file"):
        read_image(tmp_path / "missing.png")


def test_samples_command_writes_pairs_that_score(tmp_path):
    pytest.importorskip("skimage")
    from iqa.data.samples import write_sample_pairs

    written = write_sample_pairs(tmp_path, names=("astronaut", "camera"))
    assert [kind for _, kind in written] == ["noise", "blur"]
    result = run("score", tmp_path / "ref", tmp_path / "out", "--format", "json", "--metrics", "psnr")
    assert result.exit_code == 0 and json.loads(result.stdout)["summary"]["psnr"]["n"] == 2


def test_metrics_command_lists_registry():
    result = run("metrics", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["gmsd"]["higher_is_better"] is False


def test_reduced_reference_scoring_pairs_features_by_name(folders, tmp_path):
    pytest.importorskip("pyrtools")
    ref, out = folders
    features = tmp_path / "features.json"
    extracted = run("rr", "extract", ref, "-o", features, "--metrics", "rred")
    assert extracted.exit_code == 0, extracted.output
    save(out / "extra.png", photo("astronaut", 64))
    result = run("score", "--rr", features, out, "--format", "json")
    assert result.exit_code == 1  # extra.png has no features
    document = json.loads(result.stdout)
    assert list(document["metrics"]) == ["rred"]
    assert "from the features file" in document["metrics"]["rred"]["convention"]
    by_name = {row["name"]: row["rred"] for row in document["images"]}
    assert sorted(by_name) == ["astronaut.png", "chelsea.png", "coffee.png"]
    from iqa import rr

    table = rr.load_features(features)
    expected = rr.score(table["coffee.png"]["rred"], to_tensor(np.asarray(Image.open(out / "coffee.png"))))
    assert by_name["coffee.png"] == pytest.approx(float(expected), rel=1e-9)
    assert [entry["name"] for entry in document["errors"]] == ["extra.png"]
    assert run("score", "--rr", features, ref, out).exit_code == 2


def test_one_folder_scores_no_reference_metrics_with_custom_niqe_model(tmp_path):
    folder = tmp_path / "outputs"
    save(folder / "astronaut.png", photo("astronaut", 192))
    save(folder / "tiny.png", photo("coffee", 64))  # too small for NIQE's 96x96 blocks after its 2 scales
    result = run("score", folder, "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert set(document["metrics"]) == {"niqe", "piqe"} and document["mode"] == "NR"
    astronaut = next(row for row in document["images"] if row["name"] == "astronaut.png")
    assert astronaut["niqe"] == pytest.approx(float(iqa.niqe(to_tensor(photo("astronaut", 192)))), rel=1e-6)
    assert any(entry["name"] == "tiny.png" and entry["error"].startswith("niqe: ") for entry in document["errors"])

    fitted = tmp_path / "model.npz"
    assert run("niqe-fit", folder, "-o", fitted).exit_code == 1  # tiny.png is listed and skipped
    custom = run("score", folder, "--metrics", "niqe", "--niqe-params", fitted, "--format", "json")
    document = json.loads(custom.stdout)
    assert f"params={fitted}" in document["metrics"]["niqe"]["convention"]
    astronaut = next(row for row in document["images"] if row["name"] == "astronaut.png")
    expected = iqa.niqe(to_tensor(photo("astronaut", 192)), params=str(fitted))
    assert astronaut["niqe"] == pytest.approx(float(expected), rel=1e-6)
    assert run("score", folder, "--metrics", "piqe", "--niqe-params", fitted).exit_code == 2


def test_lpips_in_score_needs_its_weights_and_uses_weights_dir(folders, tmp_path, monkeypatch):
    import dataclasses

    import iqa.weights
    from deep_weights import save_random_backbone

    ref, out = folders
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    missing = run("score", ref, out, "--metrics", "psnr,lpips")
    assert missing.exit_code == 2 and "iqa weights import" in missing.output and "alexnet-owt-7be5be79.pth" in missing.output

    # Random AlexNet weights in torchvision's format; the table's checksum is patched to accept them.
    weights_file = save_random_backbone("alex", tmp_path / "home")
    entry = iqa.weights.KNOWN_WEIGHTS["alexnet"]
    patched = dataclasses.replace(entry, sha256_prefix=iqa.weights.sha256_of(weights_file)[:8])
    monkeypatch.setitem(iqa.weights.KNOWN_WEIGHTS, "alexnet", patched)
    result = run("score", ref, out, "--metrics", "lpips", "--weights-dir", weights_file.parent, "--format", "json")
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout)["images"] if r["name"] == "coffee.png")
    expected = iqa.lpips(to_tensor(np.asarray(Image.open(out / "coffee.png"))), to_tensor(photo("coffee", 64)),
                         weights=weights_file)
    assert row["lpips"] == pytest.approx(float(expected), abs=1e-6)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_resume_onto_a_new_output_file_just_runs(folders, tmp_path, fmt):
    ref, out = folders
    output = tmp_path / f"new.{fmt}"
    result = run("score", ref, out, "--metrics", "psnr", "--format", fmt, "-o", output, "--resume")
    assert result.exit_code == 0, result.output
    assert output.exists()


def test_resume_from_a_finished_json_seeds_its_journal(folders, tmp_path):
    ref, out = folders
    output = tmp_path / "scores.json"
    assert run("score", ref, out, "--metrics", "psnr", "--format", "json", "-o", output).exit_code == 0
    from iqa.io.results import ResultLog

    # A resumed run that is killed before finishing still has the earlier rows in its journal.
    log = ResultLog(output, "json", ["psnr"], resume=True)
    journal = [json.loads(line) for line in log.log_path.read_text().splitlines()]
    assert sorted(row["name"] for row in journal) == ["astronaut.png", "chelsea.png", "coffee.png"]


def test_rr_mode_refuses_color_and_crop_options(folders, tmp_path):
    pytest.importorskip("pyrtools")
    ref, out = folders
    features = tmp_path / "features.json"
    assert run("rr", "extract", ref, "-o", features, "--metrics", "rred", "--color", "y", "--crop-border", "2").exit_code == 0
    refused = run("score", "--rr", features, out, "--crop-border", "4")
    assert refused.exit_code == 2 and "come from the features file" in refused.output
    document = json.loads(run("score", "--rr", features, out, "--format", "json").stdout)
    assert document["metrics"]["rred"]["convention"].startswith("y/u8,crop=2")


def test_16_bit_files_are_rounded_to_16_bits_and_labelled(tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "out"
    image = photo("coffee", 48)[..., 0].astype(np.uint16) * 257  # 16-bit gray
    Image.fromarray(image).save(ref.mkdir() or ref / "deep.png")
    Image.fromarray(np.clip(image.astype(np.int64) + 300, 0, 65535).astype(np.uint16)).save(out.mkdir() or out / "deep.png")
    save(ref / "plain.png", photo("chelsea", 48))
    save(out / "plain.png", noisy(photo("chelsea", 48), 8))
    result = run("score", ref, out, "--metrics", "psnr,ssim", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["metrics"]["ssim"]["convention"] == "gray/u8+u16,crop=0"
    deep = next(row for row in document["images"] if row["name"] == "deep.png")
    # An offset of 300/65535 is about 1.2 8-bit levels: only a 16-bit decode gives 20 log10(65535 / 300).
    assert deep["psnr"] == pytest.approx(20 * np.log10(65535 / 300), abs=1e-3)
