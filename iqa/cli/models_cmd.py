"""``iqa models`` and ``iqa upscale``: list the model zoo, run a model on a folder of images."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import main


@main.command("models")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def models_command(output_format: str) -> None:
    """List the bundled SR models with their cards."""
    from ..models import card, list_models

    cards = {name: card(name) for name in list_models()}
    if output_format == "json":
        click.echo(json.dumps(cards, indent=2))
        return
    click.echo(f"{'name':<20} {'arch':<14} {'scale':>5} {'params':>8}  {'Y-PSNR':>7}  training data")
    for name, c in cards.items():
        psnr = c.get("validation", {}).get("psnr_y")
        psnr_text = f"{psnr:7.2f}" if psnr is not None else f"{'-':>7}"
        data = c.get("training_data", "-")
        click.echo(f"{name:<20} {c.get('architecture', '?'):<14} {c.get('scale', '?'):>5} {c.get('params', 0):>8}  {psnr_text}  {data}")


@main.command("upscale")
@click.option("--model", "model_name", required=True, help="A name from `iqa models`, a checkpoint directory or .safetensors file.")
@click.option("--tile", type=click.IntRange(8), default=256, show_default=True, help="LR tile side (multiple of 8); bounds memory.")
@click.option("--tile-overlap", "overlap", type=click.IntRange(0), default=16, show_default=True, help="LR context pixels around each tile.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.argument("in_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def upscale_command(model_name: str, tile: int, overlap: int, device: str, in_dir: Path, out_dir: Path) -> None:
    """Upscale every image under IN_DIR into OUT_DIR (PNG, same relative path and stem)."""
    from ..device import resolve_device
    from ..io.images import read_rgb, write_image
    from ..io.pairs import image_files
    from ..models import load
    from ..models.tiling import upscale

    if tile % 8 or overlap % 8:
        raise click.UsageError(f"--tile and --tile-overlap must be multiples of 8, got {tile} and {overlap}")
    try:
        target_device = resolve_device(device)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--device") from None
    try:
        model = load(model_name, device=target_device)
    except (KeyError, ValueError) as error:
        raise click.BadParameter(str(error.args[0]), param_hint="--model") from None
    files = image_files(in_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    written: dict[Path, Path] = {}
    for path in files:
        target = out_dir / path.relative_to(in_dir).with_suffix(".png")
        if target in written:  # a.png and a.jpg side by side would overwrite each other
            failures += 1
            click.echo(f"error: {path}: same output name as {written[target]}; skipped", err=True)
            continue
        written[target] = path
        try:
            lr = read_rgb(path)[None].to(target_device)
            write_image(target, upscale(model, lr, tile, overlap))
        except (ValueError, RuntimeError) as error:  # ImageReadError is a ValueError naming the file
            failures += 1
            click.echo(f"error: {path}: {error}", err=True)
    click.echo(f"upscaled {len(files) - failures} of {len(files)} images into {out_dir}")
    sys.exit(1 if failures else 0)
