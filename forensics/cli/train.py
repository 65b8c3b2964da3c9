"""``forensics train``: fit a calibrated classifier bundle on generator datasets, evaluated on held-out photos."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from rich.console import Console

from forensics.cli.evaluate import print_summary


@click.command()
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Bundle folder to write, e.g. models/NAME.")
@click.option("--analyzers", "-a",
              help="Comma-separated signal analyzers (default: every signal analyzer for the datasets' kind of media: "
                   "images, or videos when every record is a clip).")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path),
              help="Feature cache (SQLite). Default: $FORENSICS_CACHE or ~/.cache/forensics/features.sqlite.")
@click.option("--augment", type=int, default=2, show_default=True,
              help="Random post-processing chains per training still, applied to both classes (clips: none).")
@click.option("--test-fraction", type=float, default=0.25, show_default=True,
              help="Fraction of source photos held out for evaluation.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the grouped split.")
@click.option("--calibration", type=click.Choice(["sigmoid", "isotonic"]), default="sigmoid", show_default=True)
@click.option("--extra-real", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of real photos to evaluate real-image recall on (never trained on). Repeatable.")
@click.option("--match-jpeg-history", is_flag=True,
              help="Re-save each edit with its source photo's JPEG tables (records' source_jpeg) before featurizing, "
                   "so a JPEG history does not tell photos from edits.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Feature-extraction processes.")
def train(datasets: tuple[Path, ...], out: Path, analyzers: str | None, cache: Path | None, augment: int,
          test_fraction: float, seed: int, calibration: str, extra_real: tuple[Path, ...], match_jpeg_history: bool,
          jobs: int) -> None:
    """Train a bundle on DATASET folders (imagefolder + metadata.jsonl, or folders of real photos)."""
    from forensics.classifier.cache import default_cache_path
    from forensics.classifier.dataset import is_still, load_any, load_folder
    from forensics.classifier.features import signal_analyzer_names
    from forensics.classifier.training import train as train_bundle

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    records = load_any(datasets)
    kind = "image" if any(is_still(r) for r in records) else "video"
    names = [a.strip() for a in analyzers.split(",")] if analyzers else signal_analyzer_names(kind)
    if not names:
        raise click.UsageError(f"no signal analyzer for {kind} files is registered")
    real = [r for folder in extra_real for r in load_folder(folder)]
    bundle = train_bundle(records, out, names, cache or default_cache_path(), test_fraction, seed, augment,
                          {"calibration": calibration}, [str(d) for d in datasets], real, jobs,
                          match_history=match_jpeg_history)
    console = Console()
    print_summary(bundle.metrics, console)
    console.print(f"bundle written to {out} ({len(bundle.schema.names)} features)")
