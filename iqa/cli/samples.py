"""``iqa samples``: write the embedded sample pairs to a folder."""
from __future__ import annotations

from pathlib import Path

import click

from ..data.samples import write_sample_pairs
from . import main


@main.command("samples")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def samples_command(folder: Path) -> None:
    """Write FOLDER/ref and FOLDER/out: scikit-image's photographs and distorted copies.

    Then score them with: iqa score FOLDER/ref FOLDER/out
    """
    for name, kind in write_sample_pairs(folder):
        click.echo(f"{name:<22} {kind}")
    click.echo(f"wrote {folder / 'ref'} and {folder / 'out'}; next: iqa score {folder / 'ref'} {folder / 'out'}")
