"""The ``iqa`` command: a thin shell over the library.

Each subcommand lives in its own module and registers itself on ``main``;
this file imports them explicitly so ``iqa --help`` lists every command.
"""
from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="iqa")
def main() -> None:
    """Image-quality assessment for generative models."""


from . import (  # noqa: E402,F401  (each module registers its commands)
    bench, distribution, metrics_cmd, models_cmd, niqe_fit, rr, samples, score, train_sr, weights_cmd,
)
