"""``iqa weights``: list the pretrained weight files the toolkit can use; ``iqa weights import FILE``."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..weights import KNOWN_WEIGHTS, import_weights, search_dirs, weights_status
from . import main

WEIGHTS_DIR_OPTION = click.option(
    "--weights-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Folder searched before the torch hub cache.",
)


@main.group("weights", invoke_without_command=True)
@WEIGHTS_DIR_OPTION
@click.option("--no-verify", is_flag=True, help="Skip the SHA-256 check (hashing large files takes seconds).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def weights_group(context: click.Context, weights_dir: Path | None, no_verify: bool, fmt: str) -> None:
    """List every weight file iqa can use, where it looks, and whether each is present and valid.

    iqa never downloads: fetch a file on a machine with network access and run
    `iqa weights import FILE`.
    """
    if context.invoked_subcommand is not None:
        return
    rows = weights_status(weights_dir, verify=not no_verify)
    if fmt == "json":
        click.echo(json.dumps({"search_dirs": [str(d) for d in search_dirs(weights_dir)], "files": rows}, indent=2))
        return
    click.echo("searched, in order: " + ", ".join(str(d) for d in search_dirs(weights_dir)))
    for entry in KNOWN_WEIGHTS.values():
        click.echo(f"\n{entry.filename}  (sha256 {entry.sha256_prefix}...)  used by {entry.used_by}")
        click.echo(f"  source: {entry.url}")
        for row in (r for r in rows if r["key"] == entry.key):
            state = "missing" if not row["present"] else {True: "ok", False: "CHECKSUM MISMATCH", None: "present"}[
                row["valid"]
            ]
            click.echo(f"  {state:<18} {row['path']}")


@weights_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "dest_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Destination folder (default: the torch hub cache, $TORCH_HOME/hub/checkpoints).")
def import_command(file: Path, dest_dir: Path | None) -> None:
    """Copy a downloaded weight FILE into place under its upstream name (recognised by checksum)."""
    try:
        target = import_weights(file, dest_dir)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"imported {file} -> {target}")
