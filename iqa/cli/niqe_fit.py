"""``iqa niqe-fit``: fit a pristine NIQE model on the user's own images."""
from __future__ import annotations

from pathlib import Path

import click

from ..io.images import IMAGE_SUFFIXES, ImageReadError, read_image
from ..io.pairs import image_files
from ..metrics._nss import NSS_COLORS
from ..metrics.niqe import SHARPNESS_THRESHOLD, niqe_model, save_niqe_params, sharp_block_features
from . import main



@main.command("niqe-fit")
@click.argument("pristine_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .npz model to write (use it with niqe(..., params=FILE)).")
@click.option("--color", type=click.Choice(NSS_COLORS), default="gray", show_default=True,
              help="Luminance convention; score with the same one.")
@click.option("--crop-border", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--sharpness-threshold", type=click.FloatRange(0, 1), default=SHARPNESS_THRESHOLD, show_default=True,
              help="Keep blocks sharper than this fraction of each image's sharpest block.")
def niqe_fit_command(pristine_dir: Path, output: Path, color: str, crop_border: int, sharpness_threshold: float) -> None:
    """Fit a NIQE pristine model (mean, covariance) on the images in PRISTINE_DIR.

    As the NIQE authors did: 96x96 blocks, only the sharp ones, 36 features each.
    Exit status 1 when some images could not be used (they are listed; the
    model is fitted on the others).
    """
    paths = image_files(pristine_dir)
    if not paths:
        raise click.UsageError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {pristine_dir}")
    selected, errors = [], []
    for path in paths:
        try:
            decoded = read_image(path)
            selected.append(
                sharp_block_features(
                    decoded.pixels[None], color=color, crop_border=crop_border, quantize=decoded.bits,
                    sharpness_threshold=sharpness_threshold,
                )
            )
        except ImageReadError as error:
            errors.append(str(error))
        except ValueError as error:
            errors.append(f"{path}: {error}")
    for message in errors:
        click.echo(f"skipped {message}", err=True)
    try:
        model = niqe_model(selected, len(selected))
    except ValueError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    save_niqe_params(output, model)
    click.echo(f"fitted on {len(selected)} image(s), {int(model['block_count'])} block(s) -> {output}")
    if errors:
        raise SystemExit(1)

