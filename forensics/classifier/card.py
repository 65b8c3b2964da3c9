"""The model card: one self-contained HTML page (plots embedded as PNG data URIs).

It states what the model is, what it was trained on, and what it measured on held-out
source photos: a metrics table, the ROC curve, the reliability diagram, metrics against
edit strength and under post-processing, and the targets each number is held against.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from forensics.analyzers import registry
from forensics.classifier.bundle import Bundle
from forensics.classifier.evaluate import BREAKDOWN_KEYS

METRIC_COLUMNS = ("n", "auc", "ap", "balanced_accuracy", "tpr_at_1fpr", "tpr_at_5fpr", "real_recall",
                  "synthetic_recall", "ece", "ece_balanced", "nll")

#: (where in metrics.json, metric, comparison, bound, as the issue states it)
TARGETS = (
    (("as_is", "strength>=0.3"), "auc", ">=", 0.99, "AUC for strength >= 0.3"),
    (("as_is", "strength", "0.10"), "auc", ">=", 0.95, "AUC at strength 0.1"),
    (("postprocessing", "jpeg75+resize0.5"), "balanced_accuracy", ">=", 0.85,
     "balanced accuracy after JPEG 75 + resize 0.5"),
    (("extra_real", "overall"), "real_recall", ">=", 0.97, "real-image recall on unseen camera photos"),
    (("as_is", "overall"), "ece", "<=", 0.05, "ECE"),
)


def _lookup(metrics: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = metrics
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def target_table(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value (``None`` if not measured), its 95 % bootstrap interval over source
    photos (``None`` if not computed) and whether the value meets it."""
    rows = []
    for path, metric, op, bound, text in TARGETS:
        node = _lookup(metrics, path)
        value = None if node is None else node.get(metric)
        measured = value is not None and not (isinstance(value, float) and math.isnan(value))
        met = measured and (value >= bound if op == ">=" else value <= bound)
        interval = (node or {}).get("ci95", {}).get(metric)
        rows.append({"target": f"{text} {op} {bound}", "value": value if measured else None, "interval": interval,
                     "met": bool(met)})
    return rows


def _measured(row: dict[str, Any]) -> str:
    """A target's value with its interval, e.g. ``0.064 (0.041-0.090)``."""
    interval = row["interval"]
    if row["value"] is None or not interval or any(math.isnan(v) for v in interval):
        return _fmt(row["value"])
    return f"{_fmt(row['value'])} ({_fmt(interval[0])}-{_fmt(interval[1])})"


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _roc_plot(roc: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(roc["fpr"], roc["tpr"], lw=2)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false-positive rate (real called synthetic)", ylabel="true-positive rate", title="ROC, held out")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(0, 1)
    return _png(fig)


def _reliability_plot(rel: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
    ax.plot(rel["confidence"], rel["frequency"], "o-", label="model")
    for x, y, n in zip(rel["confidence"], rel["frequency"], rel["count"], strict=True):
        ax.annotate(str(n), (x, y), fontsize=7, textcoords="offset points", xytext=(3, -9))
    ax.set(xlabel="predicted P(synthetic)", ylabel="observed fraction synthetic", title="Reliability (n per bin)")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def _strength_plot(per_strength: dict[str, dict[str, float]]) -> str:
    xs = sorted(per_strength, key=float)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for metric in ("auc", "tpr_at_5fpr", "synthetic_recall"):
        ax.plot([float(x) for x in xs], [per_strength[x][metric] for x in xs], "o-", label=metric)
    ax.set(xlabel="denoising strength", ylabel="metric (edits at this strength vs all real)",
           title="Detection vs edit strength", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    return _png(fig)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def _table(rows: dict[str, dict[str, float]], first: str) -> str:
    head = "".join(f"<th>{c}</th>" for c in (first, *METRIC_COLUMNS))
    body = "".join(
        "<tr><td>" + html.escape(name) + "</td>" + "".join(f"<td>{_fmt(m.get(c, float('nan')))}</td>"
                                                          for c in METRIC_COLUMNS) + "</tr>"
        for name, m in rows.items())
    return f"<table><tr>{head}</tr>{body}</table>"


_STYLE = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:right}td:first-child,th:first-child{text-align:left}.met{color:#070}.missed{color:#b00;font-weight:bold}
img{margin:.5em}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:.8em}"""


def _judges_clips(bundle: Bundle) -> bool:
    """Whether every analyzer of the bundle's features applies to video only (a model of clips, not stills)."""
    return all(registry.analyzer_class(name).media_kinds == ("video",) for name in bundle.schema.analyzers)


def _shown_targets(bundle: Bundle) -> list[dict[str, Any]]:
    """The target rows a card shows: those of :func:`target_table` if one is measured; none for a model of clips
    (the targets are stated for stills)."""
    rows = [] if _judges_clips(bundle) else target_table(bundle.metrics)
    return rows if any(row["value"] is not None for row in rows) else []


def _status(row: dict[str, Any]) -> str:
    return "met" if row["met"] else ("not measured" if row["value"] is None else "missed")


def _not_judged(metrics: dict[str, Any]) -> str:
    """A sentence on held-out files the model could not judge (too few features measured), or ``""``."""
    count = metrics.get("as_is", {}).get("overall", {}).get("not_judged", 0)
    return (f"{count} held-out files had too few of the model's features measured (the scan's rule combiner judges "
            "such files) and are not in the figures." if count else "")


LIMITS_STILLS = ("Trained on img2img edits and autoencoder round trips of a few hundred photos (generators listed in "
                 "the recipe). Scores on other generators, heavy processing or screenshots are extrapolation; an "
                 "uncertain or low score is not proof of authenticity. Compression hides decoder traces: on real "
                 "generators' output re-saved as JPEG the loss is larger than the round-trip rows above show "
                 "(benchmarks/transfer.py measures it). A local edit, a region replaced as inpainting tools do, "
                 "moves this whole-picture score little (the local-edits table measures it): the residual CNN's "
                 "heatmap is the better guide there (benchmarks/local_edits.py). Pictures that are not photographs "
                 "(paintings, drawings, graphics) lie outside the training data, and a camera's missing noise "
                 "moves the score as a decoder's trace does: stylized copies of unseen photos that no generator "
                 "touched are often called synthetic (benchmarks/non_photographic.py measures it).")
LIMITS_CLIPS = ("Trained on frame-by-frame img2img stylizations of a few clips (generators listed in the recipe): "
                "texture re-synthesised in every frame. A static shot stylized with the same initial noise in every "
                "frame does not flicker and is missed, and video generators that keep texture coherent over time "
                "(text- or image-to-video models) are not what it learned; an uncertain or low score is not proof "
                "of authenticity.")


def render_card(bundle: Bundle) -> str:
    """The HTML model card of a bundle whose ``metrics`` come from :func:`forensics.classifier.evaluate.evaluate`."""
    m, recipe, schema = bundle.metrics, bundle.recipe, bundle.schema
    as_is = m.get("as_is", {})
    sources = "source clips" if _judges_clips(bundle) else "source photos"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Model card: {html.escape(bundle.name)}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>Model card: {html.escape(bundle.name)} (version {html.escape(bundle.version)})</h1>",
             "<p>Calibrated gradient-boosting classifier over pixel-signal features "
             f"({len(schema.names)} features from analyzers {html.escape(', '.join(schema.analyzers))}). "
             "Metadata is kept out of the features (no shortcut on EXIF or format); a decisive metadata finding "
             "(C2PA AI assertion, generation parameters, watermark) overrides the classifier. Probabilities inside "
             "the uncertain band (0.35-0.65) are reported as <em>uncertain</em>. All numbers below are measured on "
             f"{sources} held out from training (edits of one source never straddle the split). "
             f"{html.escape(_not_judged(m))}</p>"]
    if targets := _shown_targets(bundle):
        parts.append("<h2>Targets</h2><p>Measured value (95 % bootstrap interval, source photos resampled).</p>"
                     "<table><tr><th>target</th><th>measured</th><th>status</th></tr>")
        parts += [f"<tr><td>{html.escape(row['target'])}</td><td>{_measured(row)}</td>"
                  f"<td class='{'met' if row['met'] else 'missed'}'>{_status(row)}</td></tr>" for row in targets]
        parts.append("</table>")
    if as_is:
        parts.append("<h2>Held-out metrics</h2>")
        parts.append(_table({"all": as_is["overall"], "strength >= 0.3": as_is["strength>=0.3"]}, "subset"))
    if m.get("curves"):
        parts.append(f"<img alt='ROC curve' src='{_roc_plot(m['curves']['roc'])}'>")
        parts.append(f"<img alt='reliability diagram' src='{_reliability_plot(m['curves']['reliability'])}'>")
    if as_is.get("strength"):
        parts.append(f"<img alt='metrics vs strength' src='{_strength_plot(as_is['strength'])}'>")
    for key in BREAKDOWN_KEYS:
        if as_is.get(key):
            parts.append(f"<h3>By {key}</h3>" + _table(as_is[key], key))
    if m.get("postprocessing"):
        parts.append("<h2>Under post-processing (both classes processed alike)</h2>")
        parts.append(_table({k: v for k, v in m["postprocessing"].items()}, "condition"))
        if by_kind := _by_kind(m["postprocessing"]):
            parts.append("<h3>Under post-processing, by kind</h3><p>A round trip is the pure decoder trace; an edit "
                         "also changes content. Processing erases the first sooner.</p>")
            parts.append(_table(by_kind, "condition / kind"))
    if m.get("saved_as_source"):
        parts.append(f"<h2>Edits saved as their source photos were</h2><p>{html.escape(SAVED_AS_SOURCE_NOTE)}</p>")
        parts.append(_table(saved_as_source_rows(m["saved_as_source"]), "edits"))
    if m.get("local_edits"):
        parts.append(f"<h2>Local edits</h2><p>{html.escape(LOCAL_EDITS_NOTE)}</p>")
        parts.append(_table(local_edit_rows(m["local_edits"]), "share of the picture edited"))
    if m.get("extra_real"):
        parts.append(f"<h2>Real photos outside the dataset</h2><p>{html.escape(EXTRA_REAL_NOTE)}</p>")
        parts.append(_table(extra_real_rows(m["extra_real"]), "photos"))
    shown = {k: v for k, v in recipe.items() if k not in ("train_groups", "test_groups")}
    parts.append("<h2>Training recipe</h2><pre>" + html.escape(json.dumps(shown, indent=2)) + "</pre>")
    parts.append("<h2>Features</h2><p>" + html.escape(", ".join(schema.names)) + "</p>")
    limits = LIMITS_CLIPS if _judges_clips(bundle) else LIMITS_STILLS
    parts.append(f"<h2>Limits</h2><p>{html.escape(limits)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


EXTRA_REAL_NOTE = ("Camera photos that no model here trained on, as their cameras wrote them, then shrunk whole and "
                   "saved losslessly, as photos are before they are published: shrinking removes both the camera's "
                   "noise at native scale and the JPEG grid, two things a photo shows and a decoder's output lacks.")
SAVED_AS_SOURCE_NOTE = ("Most source photos are JPEGs, while the edits are lossless decoder output. Here each edit "
                        "is re-saved with its source photo's own JPEG tables and the photos are left as they are, so a "
                        "JPEG grid no longer tells them apart: the drop from the files as generated is what "
                        "compression at the photos' own quality costs the detector.")


LOCAL_EDITS_NOTE = ("Each held-out edit pasted back into its own photo inside a feathered ellipse, as inpainting tools "
                    "return their output (generator.paste_back), scored against the same held-out real photos. These "
                    "files are left out of every other table, and of the targets, which are stated for whole pictures.")


def local_edit_rows(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Rows of the local-edits table: all of them, then each bin of the share of the picture edited."""
    return {"all": node["overall"], **node.get("edit_area", {})}


def extra_real_rows(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Rows of the unseen-photos table: the files as they are, then shrunk whole and saved losslessly (bundles
    evaluated before the shrunk conditions existed have none)."""
    return {"as they are": node["overall"],
            **{f"shrunk ({condition}, PNG)": row for condition, row in node.get("shrunk", {}).items()}}


def saved_as_source_rows(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Rows of the "edits saved as their sources" table: all edits, then each kind."""
    return {"all": node, **{f"{kind} only": row for kind, row in node.get("kind", {}).items()}}


def _by_kind(postprocessing: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows "condition / kind" of the per-kind metrics under each post-processing condition (bundles evaluated
    before these existed have none)."""
    return {f"{condition} / {kind}": row for condition, node in postprocessing.items()
            for kind, row in node.get("kind", {}).items()}


def _md_table(rows: dict[str, dict[str, float]], first: str) -> str:
    lines = ["| " + " | ".join((first, *METRIC_COLUMNS)) + " |", "|" + "---|" * (len(METRIC_COLUMNS) + 1)]
    lines += ["| " + " | ".join((name, *(_fmt(m.get(c, float("nan"))) for c in METRIC_COLUMNS))) + " |"
              for name, m in rows.items()]
    return "\n".join(lines)


def render_summary(bundle: Bundle) -> str:
    """A Markdown summary of the card (README of the bundle folder): targets and the main held-out tables."""
    m = bundle.metrics
    experts = [bundle.schema.names[j] for j in getattr(bundle.model, "expert_columns", ())]
    pooled = (f" The log-odds of the boosting (on the other features) and of {', '.join(experts)} are averaged, then "
              "calibrated." if experts else "")
    sources = "source clips" if _judges_clips(bundle) else "source photos"
    parts = [f"# Model `{bundle.name}` (version {bundle.version})", "",
             f"Calibrated gradient boosting over {len(bundle.schema.names)} signal features of "
             f"{', '.join(bundle.schema.analyzers)}.{pooled} Full card with plots: `card.html`; numbers: "
             f"`metrics.json`; training recipe: `recipe.json`. All metrics on {sources} held out from training. "
             f"{_not_judged(m)}".rstrip()]
    if targets := _shown_targets(bundle):
        parts += ["", "## Targets", "", "Measured value (95 % bootstrap interval, source photos resampled).", "",
                  "| target | measured | status |", "|---|---|---|"]
        parts += [f"| {row['target']} | {_measured(row)} | {_status(row)} |" for row in targets]
    as_is = m.get("as_is", {})
    if as_is:
        parts += ["", "## Held out, files as generated", "",
                  _md_table({"all": as_is["overall"], "strength >= 0.3": as_is["strength>=0.3"]}, "subset")]
        for key in BREAKDOWN_KEYS:
            if as_is.get(key):
                parts += ["", f"### By {key}", "", _md_table(as_is[key], key)]
    if m.get("postprocessing"):
        parts += ["", "## Under post-processing (both classes)", "", _md_table(m["postprocessing"], "condition")]
        if by_kind := _by_kind(m["postprocessing"]):
            parts += ["", "### By kind (a round trip is the pure decoder trace)", "",
                      _md_table(by_kind, "condition / kind")]
    if m.get("saved_as_source"):
        parts += ["", "## Edits saved as their source photos were", "", SAVED_AS_SOURCE_NOTE, "",
                  _md_table(saved_as_source_rows(m["saved_as_source"]), "edits")]
    if m.get("local_edits"):
        parts += ["", "## Local edits", "", LOCAL_EDITS_NOTE, "",
                  _md_table(local_edit_rows(m["local_edits"]), "share of the picture edited")]
    if m.get("extra_real"):
        parts += ["", "## Unseen real camera photos", "", EXTRA_REAL_NOTE, "",
                  _md_table(extra_real_rows(m["extra_real"]), "photos")]
    parts += ["", "## Limits", "", LIMITS_CLIPS if _judges_clips(bundle) else LIMITS_STILLS]
    return "\n".join(parts) + "\n"
