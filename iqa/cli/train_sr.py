"""``iqa train-sr``: train a bundled SR architecture (see ``iqa.train.loop`` for the run directory)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import main

MODELS = ("srgan", "stylegan-lite", "autoencoder")


@main.command("train-sr")
@click.option("--model", "model", type=click.Choice(MODELS), required=True, help="Architecture to train.")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder holding DIV2K_train_HR/ (and DIV2K_valid_HR/, DIV2K_*_LR_bicubic/); default: the embedded sample set.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run directory.")
@click.option("--scale", type=click.IntRange(2, 8), default=4, show_default=True)
@click.option("--steps", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True, help="Per process.")
@click.option("--patch-size", type=click.IntRange(8), default=96, show_default=True, help="HR patch side, a multiple of --scale.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=2e-4, show_default=True, help="Learning rate (cosine decay to lr/10).")
@click.option("--resume", is_flag=True, help="Continue from RUN_DIR/checkpoint.safetensors.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save-every", type=click.IntRange(1), default=200, show_default=True, help="Checkpoint every K steps.")
@click.option("--val-every", type=click.IntRange(1), default=200, show_default=True, help="Validate every K steps.")
@click.option("--log-every", type=click.IntRange(1), default=10, show_default=True)
@click.option("--val-images", type=click.IntRange(1), default=10, show_default=True, help="Validation images used.")
@click.option("--pretrain-steps", type=click.IntRange(0), default=None,
              help="GAN models: L1-only steps first [srgan: steps/2, stylegan-lite: steps/4].")
@click.option("--adv-weight", type=click.FloatRange(0), default=None, help="GAN models: GAN loss weight [1e-2].")
@click.option("--r1-gamma", type=click.FloatRange(0), default=None, help="stylegan-lite R1 penalty weight [1.0].")
@click.option("--perceptual", type=click.Choice(["auto", "on", "off"]), default=None,
              help="srgan: LPIPS perceptual loss; auto (default) uses it when the AlexNet weights are found, "
                   "on fails without them.")
@click.option("--weights-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="srgan: folder searched for the LPIPS weights before the torch hub cache.")
@click.option("--channels", type=click.IntRange(4), default=None, help="Generator width (architecture default if omitted).")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True, help="DataLoader worker processes.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train_sr(model, data, out, scale, steps, batch_size, patch_size, lr, resume, device, seed, save_every, val_every,
             log_every, val_images, pretrain_steps, adv_weight, r1_gamma, perceptual, weights_dir, channels, workers,
             no_progress) -> None:
    """Train an SR model; run under `torchrun --nproc-per-node N -m iqa train-sr ...` for data parallelism."""
    from ..train import TrainConfig, train
    from ..train.loop import ResumeMismatchError
    from ..train.objectives import unused_options

    if patch_size % scale:
        raise click.UsageError(f"--patch-size {patch_size} must be a multiple of --scale {scale}")
    if model == "stylegan-lite" and scale & (scale - 1):
        raise click.UsageError(f"--model stylegan-lite upsamples by doubling: --scale must be 2, 4 or 8, got {scale}")
    unused = unused_options(model, pretrain_steps=pretrain_steps, adv_weight=adv_weight, r1_gamma=r1_gamma,
                            perceptual=perceptual, weights_dir=weights_dir)
    if unused:
        flags = ", ".join("--" + name.replace("_", "-") for name in unused)
        raise click.UsageError(f"--model {model} does not use {flags}")
    config = TrainConfig(
        model=model, out=out, data=data, scale=scale, steps=steps, batch_size=batch_size, patch_size=patch_size, lr=lr,
        seed=seed, device=device, resume=resume, save_every=save_every, val_every=val_every, log_every=log_every,
        val_images=val_images, pretrain_steps=pretrain_steps, adv_weight=adv_weight, r1_gamma=r1_gamma,
        perceptual=perceptual, weights_dir=weights_dir, workers=workers,
        progress=not no_progress, model_options={} if channels is None else {"channels": channels},
    )
    try:
        card = train(config)
    except ResumeMismatchError as error:
        raise click.UsageError(str(error)) from None
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2 if isinstance(error, FileExistsError) else 1)
    click.echo(f"done: {card['steps']} steps in {card['training_seconds']} s; validation {card['validation']}")
