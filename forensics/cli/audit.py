"""``forensics audit``: audit folders of evidence in parallel into a resumable, hashed audit folder."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from forensics.audit import AuditConfig, AuditError, CaseMismatch, run_audit
from forensics.cli.analyzers import analyzers_option
from forensics.media import MediaLimits


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Audit folder: created, or resumed if it holds an audit.")
@click.option("--include", multiple=True, metavar="GLOB", help="Audit only files matching this glob (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Leave out files or folders matching this glob (repeatable).")
@click.option("--follow-links", is_flag=True, help="Follow symbolic links that point out of the audited folders.")
@analyzers_option
@click.option("--workers", "-j", type=click.IntRange(min=1), help="Parallel workers (default: every core).")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run on this machine's cores, or on a Ray cluster (needs img2img-forensics[ray]).")
@click.option("--ray-address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray instance).")
@click.option("--case", "case_id", help="Case identifier recorded with every result; an audit folder holds one case.")
@click.option("--operator", help="Who runs the audit (recorded with every result).")
@click.option("--note", help="Free note recorded with this run.")
@click.option("--retry-errors", is_flag=True, help="Analyse again the files that ended in error.")
@click.option("--file-reports/--no-file-reports", default=True, show_default=True,
              help="Write a detailed JSON and HTML report for every file.")
@click.option("--max-pixels", type=int, default=MediaLimits.max_pixels, show_default=True,
              help="Refuse images or frames larger than this (decompression-bomb guard).")
@click.option("--max-frames", type=int, default=MediaLimits.max_frames, show_default=True,
              help="Decode at most this many frames of a clip or animation.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0), default=AuditConfig.timeout_s,
              show_default=True, help="Seconds one file's analysis may take before it is an error row (0: no limit).")
def audit(paths: tuple[Path, ...], out_dir: Path, include: tuple[str, ...], exclude: tuple[str, ...],
          follow_links: bool, analyzers: list[str], workers: int | None, backend: str,
          ray_address: str | None, case_id: str | None, operator: str | None, note: str | None,
          retry_errors: bool, file_reports: bool, max_pixels: int, max_frames: int, timeout_s: float) -> None:
    """Audit folders of images and clips: a ranked, hashed record of what looks synthetic.

    Re-running the same command resumes an interrupted audit and analyses only new files.
    Outputs in the audit folder: report.html, results.csv, results.jsonl, audit.json,
    files/ (per-file reports), ledger.sqlite and SHA256SUMS. Exit code 0 when the audit
    completed (the verdicts are in the outputs), 4 when it could not start.
    """
    config = AuditConfig(
        roots=list(paths), out_dir=out_dir, include=include, exclude=exclude, follow_links=follow_links,
        analyzers=analyzers, workers=workers, backend=backend, ray_address=ray_address, case_id=case_id,
        operator=operator, note=note, retry_errors=retry_errors, file_reports=file_reports,
        limits=MediaLimits(max_pixels=max_pixels, max_frames=max_frames), timeout_s=timeout_s or None,
    )
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            summary = run_audit(config, progress)
    except (AuditError, CaseMismatch) as exc:
        raise click.ClickException(str(exc)) from exc
    t = summary.totals
    labels = t["labels"]
    console.print(
        f"{summary.analysed} analysed now ({summary.new_items} new of {summary.discovered} paths) in "
        f"{summary.elapsed_s:.1f} s. Audit: {labels.get('synthetic', 0)} synthetic, "
        f"{labels.get('uncertain', 0)} uncertain, {labels.get('no_synthetic_evidence', 0)} no synthetic evidence, "
        f"{t['states'].get('error', 0)} errors, {t['duplicate_paths']} duplicate paths, {t['skipped']} skipped."
    )
    console.print(f"Report: {summary.out_dir / 'report.html'}")
