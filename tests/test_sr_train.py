"""`iqa train-sr`: tiny runs on a miniature DIV2K. Determinism, exact resume, logs, and 2-process data parallelism."""
import csv
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _sr_helpers import write_mini_div2k
from click.testing import CliRunner
from safetensors.torch import load_file

import iqa.models as zoo
from iqa.cli import main
from iqa.train import TrainConfig, train
from iqa.train.loop import Trainer

TINY = {"srgan": {"channels": 8, "blocks": 1}, "stylegan-lite": {"channels": 16, "style_dim": 8}, "autoencoder": {"channels": 8}}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def div2k(tmp_path_factory):
    return write_mini_div2k(tmp_path_factory.mktemp("div2k"), scale=4, size=(112, 120))


def config(out, data, model="stylegan-lite", **changes):
    options = dict(model=model, out=out, data=data, scale=4, steps=6, batch_size=2, patch_size=32, lr=1e-3, seed=7,
                   device="cpu", save_every=3, val_every=3, log_every=1, val_images=1, pretrain_steps=2,
                   progress=False, model_options=TINY[model])
    options.update(changes)
    return TrainConfig(**options)


def weights(run: Path) -> dict:
    return load_file(str(run / "weights.safetensors"))


def assert_same_weights(a: dict, b: dict, atol=0.0):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=atol, msg=key)


def losses(run: Path) -> list[dict]:
    """train.csv rows without the wall-clock column."""
    with open(run / "train.csv") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, div2k, monkeypatch):
    """Also determinism: the crashed run, up to its crash, repeats the straight run's losses exactly."""
    train(config(tmp_path / "straight", div2k))
    original = Trainer.train_step

    def crash_at_step_4(self, *batch):
        if self.step == 4:
            raise KeyboardInterrupt
        return original(self, *batch)

    monkeypatch.setattr(Trainer, "train_step", crash_at_step_4)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "crashed", div2k))
    assert len(losses(tmp_path / "crashed")) == 4
    assert losses(tmp_path / "crashed") == losses(tmp_path / "straight")[:4]  # same seed, same run
    monkeypatch.setattr(Trainer, "train_step", original)
    with pytest.raises(FileExistsError, match="--resume"):
        train(config(tmp_path / "crashed", div2k))
    train(config(tmp_path / "crashed", div2k, resume=True))  # continues from the step-3 checkpoint
    assert_same_weights(weights(tmp_path / "straight"), weights(tmp_path / "crashed"))
    assert_same_weights(load_file(str(tmp_path / "straight/checkpoint.safetensors")), load_file(str(tmp_path / "crashed/checkpoint.safetensors")))
    assert [int(row["step"]) for row in losses(tmp_path / "crashed")] == [1, 2, 3, 4, 5, 6]  # step 4's orphan row replaced
    assert losses(tmp_path / "crashed") == losses(tmp_path / "straight")


def test_resume_refuses_other_settings_naming_each(tmp_path, div2k):
    train(config(tmp_path, div2k, model="autoencoder", steps=1, save_every=1, pretrain_steps=None))
    with pytest.raises(ValueError) as mismatch:
        train(config(tmp_path, div2k, resume=True, model="srgan", scale=2, batch_size=3, steps=4))
    message = str(mismatch.value)
    for difference in ["model: checkpoint 'autoencoder', now 'srgan'", "scale: checkpoint 4, now 2",
                       "batch_size: checkpoint 2, now 3", "steps: checkpoint 1, now 4"]:
        assert difference in message
    assert "seed" not in message and "patch_size" not in message


def test_cli_writes_logs_checkpoint_and_card(tmp_path, div2k):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train-sr", "--model", "autoencoder", "--data", str(div2k), "--out", str(out), "--steps", "4", "--batch-size", "2",
        "--patch-size", "32", "--save-every", "2", "--val-every", "2", "--log-every", "1", "--val-images", "1",
        "--channels", "8", "--device", "cpu", "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    with open(out / "train.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4] and {"l1", "ssim", "lr", "seconds"} <= rows[0].keys()
    with open(out / "valid.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [2, 4]
    model = zoo.load(out)
    assert model.scale == 4 and model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 4 and card["architecture"] == "autoencoder" and "psnr_y" in card["validation"]
    if importlib.util.find_spec("tensorboard") is not None:
        assert any((out / "tensorboard").iterdir())
    other_batch = CliRunner().invoke(main, [
        "train-sr", "--model", "autoencoder", "--data", str(div2k), "--out", str(out), "--steps", "4", "--batch-size", "3",
        "--patch-size", "32", "--channels", "8", "--device", "cpu", "--no-progress", "--resume",
    ])
    assert other_batch.exit_code == 2 and "batch_size: checkpoint 2, now 3" in other_batch.output


def test_cli_rejects_bad_patch_size(tmp_path):
    result = CliRunner().invoke(main, ["train-sr", "--model", "srgan", "--out", str(tmp_path), "--patch-size", "30"])
    assert result.exit_code == 2 and "multiple of --scale" in result.output


@pytest.mark.parametrize("model, option, value", [
    ("autoencoder", "--adv-weight", "1"), ("autoencoder", "--pretrain-steps", "1"), ("autoencoder", "--r1-gamma", "1"),
    ("srgan", "--r1-gamma", "1"), ("stylegan-lite", "--perceptual", "off"),
])
def test_cli_rejects_options_the_model_does_not_use(tmp_path, model, option, value):
    result = CliRunner().invoke(main, ["train-sr", "--model", model, "--out", str(tmp_path), option, value])
    assert result.exit_code == 2 and f"--model {model} does not use {option}" in result.output


def test_library_rejects_options_the_model_does_not_use(tmp_path):
    with pytest.raises(ValueError, match="autoencoder does not use pretrain_steps"):
        train(config(tmp_path, None, model="autoencoder"))


def test_srgan_perceptual_loss_is_off_without_lpips_weights_and_on_with_them(tmp_path, div2k, monkeypatch):
    import dataclasses

    import iqa.weights
    from deep_weights import save_random_backbone

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    tiny = dict(model="srgan", steps=1, save_every=1, val_every=1, pretrain_steps=None)
    card = train(config(tmp_path / "auto", div2k, **tiny))
    assert "perceptual loss: off (LPIPS weights not found)" in json.loads((tmp_path / "auto/card.json").read_text())["loss"]
    required = CliRunner().invoke(main, ["train-sr", "--model", "srgan", "--out", str(tmp_path / "on"), "--perceptual", "on"])
    assert required.exit_code == 1 and "alexnet-owt-7be5be79.pth" in required.output and "iqa weights import" in required.output
    assert not (tmp_path / "on").exists()

    # Random AlexNet weights in torchvision's format; the table's checksum is patched to accept them.
    weights_file = save_random_backbone("alex", tmp_path / "home")
    entry = iqa.weights.KNOWN_WEIGHTS["alexnet"]
    monkeypatch.setitem(iqa.weights.KNOWN_WEIGHTS, "alexnet",
                        dataclasses.replace(entry, sha256_prefix=iqa.weights.sha256_of(weights_file)[:8]))
    card = train(config(tmp_path / "on", div2k, perceptual="on", weights_dir=weights_file.parent, **tiny))
    assert "perceptual loss: on (LPIPS, alexnet-owt-7be5be79.pth)" in card["loss"]
    with open(tmp_path / "on" / "train.csv") as f:
        assert float(next(csv.DictReader(f))["perceptual"]) > 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_process_data_parallel_equals_one_process_with_the_whole_batch(tmp_path, div2k):
    """torchrun, 2 CPU processes (gloo), batch 1 each == 1 process, batch 2: the same items and averaged gradients."""
    common = ["train-sr", "--model", "autoencoder", "--data", str(div2k), "--steps", "3", "--patch-size", "32",
              "--save-every", "3", "--val-every", "3", "--val-images", "1", "--channels", "8", "--device", "cpu",
              "--seed", "3", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
         "-m", "iqa", *common, "--batch-size", "1", "--out", str(tmp_path / "ddp")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    result = CliRunner().invoke(main, [*common, "--batch-size", "2", "--out", str(tmp_path / "single")])
    assert result.exit_code == 0, result.output
    assert_same_weights(weights(tmp_path / "ddp"), weights(tmp_path / "single"), atol=1e-5)
