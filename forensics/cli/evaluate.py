"""``forensics evaluate``: score a bundle on datasets, overall, per setting and under post-processing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

SHOWN = ("n", "auc", "ap", "balanced_accuracy", "tpr_at_1fpr", "tpr_at_5fpr", "real_recall", "ece", "ece_balanced",
         "nll")
HEADERS = ("n", "AUC", "AP", "bal.acc", "TPR@1%", "TPR@5%", "real rec.", "ECE", "ECE bal.", "NLL")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def print_summary(metrics: dict[str, Any], console: Console) -> None:
    """Print the overall, per-setting and post-processing metrics as tables."""
    from forensics.classifier.card import extra_real_rows, local_edit_rows, saved_as_source_rows
    from forensics.classifier.evaluate import BREAKDOWN_KEYS

    sections: dict[str, dict[str, dict[str, float]]] = {}
    as_is = metrics.get("as_is", {})
    if as_is:
        sections["subset"] = {"all": as_is["overall"], "strength>=0.3": as_is["strength>=0.3"]}
        for key in BREAKDOWN_KEYS:
            if as_is.get(key):
                sections[key] = as_is[key]
    if metrics.get("postprocessing"):
        sections["post-processing"] = metrics["postprocessing"]
    if metrics.get("saved_as_source"):
        sections["edits saved as their sources"] = saved_as_source_rows(metrics["saved_as_source"])
    if metrics.get("local_edits"):
        sections["local edits (share of the picture)"] = local_edit_rows(metrics["local_edits"])
    if metrics.get("extra_real"):
        sections["unseen real photos"] = extra_real_rows(metrics["extra_real"])
    for title, rows in sections.items():
        table = Table(title=title)
        for column in (title, *HEADERS):
            table.add_column(column, justify="left" if column == title else "right")
        for name, m in rows.items():
            table.add_row(name, *(_cell(m.get(c, float("nan"))) for c in SHOWN))
        console.print(table)
    if skipped := as_is.get("overall", {}).get("not_judged"):
        console.print(f"{skipped} files had too few of the model's features measured: not judged by the model "
                      "(a scan leaves them to the rule combiner), not counted above.")


@click.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path),
              help="Feature cache (SQLite). Default: $FORENSICS_CACHE or ~/.cache/forensics/features.sqlite.")
@click.option("--include-train", is_flag=True,
              help="Also score records whose source photo the model trained on (excluded by default).")
@click.option("--conditions", default="all", show_default=True,
              help="Comma-separated post-processing conditions: names, chains such as 'webp80', "
                   "'resize0.5+jpeg85' or 'denoise5+sharpen80+jpeg90' (an editor's noise reduction and "
                   "sharpening), 'all' (every named one) or 'none'.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the metrics as JSON.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Feature-extraction processes.")
def evaluate(model: Path, datasets: tuple[Path, ...], cache: Path | None, include_train: bool, conditions: str,
             json_out: Path | None, jobs: int) -> None:
    """Evaluate the bundle MODEL on DATASET folders (imagefolder + metadata.jsonl, or folders of real photos)."""
    from forensics.classifier import postprocess
    from forensics.classifier.bundle import load_bundle
    from forensics.classifier.cache import default_cache_path
    from forensics.classifier.dataset import load_any
    from forensics.classifier.evaluate import evaluate as evaluate_bundle

    bundle = load_bundle(model)
    records = load_any(datasets)
    if not include_train:
        trained = set(bundle.recipe.get("train_groups", []))
        records = [r for r in records if r.group[:16] not in trained]
    if not records:
        raise click.UsageError("no record left to evaluate (all come from the model's training photos)")
    named = {"all": list(postprocess.CONDITIONS), "none": []}
    chosen = [c for token in conditions.split(",") for c in named.get(token.strip(), [token.strip()])]
    for condition in chosen:
        if condition not in postprocess.CONDITIONS:
            try:
                postprocess.parse_chain(condition)
            except ValueError as exc:
                raise click.BadParameter(f"{exc}; named conditions: {', '.join(postprocess.CONDITIONS)}",
                                         param_hint="--conditions") from exc
    metrics = evaluate_bundle(bundle, records, cache or default_cache_path(), chosen, jobs=jobs)
    print_summary(metrics, Console())
    if json_out is not None:
        json_out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
