"""``forensics scan``: analyse files and print, save or emit their reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from forensics.analyzers import registry
from forensics.cli.analyzers import analyzers_option
from forensics.media import MediaLimits
from forensics.report import exit_code
from forensics.report.serialize import dumps
from forensics.report.text import print_report
from forensics.scan import Scanner


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report(s) on stdout instead of text.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report.")
@analyzers_option
@click.option("--list-analyzers", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, _p, v: _list(ctx, v), help="List the registered analyzers and exit.")
@click.option("--max-pixels", type=int, default=MediaLimits.max_pixels, show_default=True,
              help="Refuse images or frames larger than this (decompression-bomb guard).")
@click.option("--max-frames", type=int, default=MediaLimits.max_frames, show_default=True,
              help="Decode at most this many frames of a clip or animation.")
def scan(paths: tuple[Path, ...], as_json: bool, html_out: Path | None, analyzers: list[str],
         max_pixels: int, max_frames: int) -> None:
    """Scan image and video files for diffusion img2img edits.

    Exit codes: 0 no synthetic evidence, 1 synthetic evidence, 2 uncertain,
    3 a file could not be analysed, 4 usage error.
    """
    scanner = Scanner(registry.create_all(analyzers), limits=MediaLimits(max_pixels=max_pixels, max_frames=max_frames))
    console = Console(stderr=as_json)
    reports = []
    for path in paths:
        report = scanner.scan(path, keep_media=html_out is not None)
        if not as_json:
            print_report(report, console)
        reports.append(report)
    if as_json:
        sys.stdout.write(dumps(reports) + "\n")
    if html_out is not None:
        from forensics.report.html import render_html  # matplotlib/jinja only when asked

        html_out.write_text(render_html(reports), encoding="utf-8")
        console.print(f"HTML report written to {html_out}")
    sys.exit(exit_code(reports))


def _list(ctx: click.Context, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for name in registry.names():
        cls = registry.analyzer_class(name)
        named = "" if cls.by_default else " [only when named]"
        click.echo(f"{name:16s} v{cls.version:8s} {cls.description}{named}")
    ctx.exit(0)
