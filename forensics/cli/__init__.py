"""The ``forensics`` command. Each subcommand lives in its own module and is a thin layer over the library.

Exit codes (``scan``): 0 no synthetic evidence, 1 synthetic evidence, 2 uncertain,
3 at least one file could not be analysed, 4 usage error.
"""

from __future__ import annotations

import sys

import click

from forensics import __version__
from forensics.cli.audit import audit
from forensics.cli.evaluate import evaluate
from forensics.cli.generate import generate
from forensics.cli.generate_video import generate_video
from forensics.cli.scan import scan
from forensics.cli.train import train

EXIT_USAGE = 4


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forensics")
def cli() -> None:
    """Image and video forensics for diffusion img2img edits."""


cli.add_command(scan)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(audit)
cli.add_command(generate)
cli.add_command(generate_video)


def main() -> None:
    """Console entry point: click's usage errors exit with 4, not 2 (2 means 'uncertain')."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    sys.exit(code or 0)
