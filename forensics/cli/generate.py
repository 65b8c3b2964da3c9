"""``forensics generate``: build a labeled real/edited img2img dataset (thin layer over ``generator.dataset``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the generator (torch, diffusers) loads only when a command runs
    from generator.dataset import Summary
    from generator.video import VideoSummary

EXIT_FAILURES = 3  # some sources could not be processed (as ``scan``'s "could not be analysed")

# CLI parameter -> Recipe field, for parameters whose names differ
_FIELD = {"cfg": "guidance", "prompts": "prompts_file", "post": "postprocess", "image_format": "image_format"}
_LISTS = {"strengths": float, "seeds": int, "styles": str, "schedulers": str, "roundtrip_vaes": str, "post": str,
          "provenance": str, "paste_back": float}


def _split(value: str | None, kind: type) -> list | None:
    if value is None:
        return None
    return [kind(item.strip()) for item in value.split(",") if item.strip()]


@click.command("generate")
@click.argument("sources", nargs=-1, type=click.Path(exists=True))
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Output folder (imagefolder layout).")
@click.option("--recipe", type=click.Path(exists=True, dir_okay=False),
              help="Recipe file (.toml/.json, see datasets/README.md); command-line options override it.")
@click.option("--limit", type=int, help="Use only the first N source images (sorted).")
@click.option("--strengths", default="0.3,0.5,0.7", show_default=True, help="Denoise strengths, comma-separated.")
@click.option("--seeds", default="0", show_default=True, help="Seeds, comma-separated (-1 = random, recorded).")
@click.option("--styles", help="Built-in style prompts, comma-separated (default: all; see generator.prompts).")
@click.option("--prompts", type=click.Path(exists=True, dir_okay=False),
              help="Prompts file: one 'prompt | negative' per line, or .json/.jsonl with 'prompt' keys.")
@click.option("--prompt-mode", type=click.Choice(["cycle", "all"]), default="cycle", show_default=True,
              help="cycle: one prompt per edit, rotating; all: every prompt for every edit.")
@click.option("--schedulers", help="Schedulers, comma-separated: diffusers names, A1111 ('DPM++ 2M Karras', "
              "'Euler a') or ComfyUI ('dpmpp_2m_karras', 'uni_pc'); default: the model's own.")
@click.option("--steps", type=int, default=20, show_default=True, help="Steps of a full denoise (img2img runs "
              "int(steps x strength)).")
@click.option("--cfg", type=float, default=7.5, show_default=True, help="Classifier-free guidance scale.")
@click.option("--model", default="tiny", show_default=True,
              help="Built-in name (tiny), diffusers folder, single-file checkpoint (.safetensors/.ckpt) or hub id.")
@click.option("--vae", help="VAE override: taesd, taesdxl, taesd3, taef1, a folder, a file or a hub id.")
@click.option("--config", help="Local diffusers folder with the component configs of a single-file checkpoint.")
@click.option("--variant", help="Weight variant of a diffusers folder or hub repo (fp16, bf16).")
@click.option("--roundtrip-vaes", help="Also write autoencoder round trips (strength 0) through these VAEs, "
              "comma-separated: taesd, taesdxl, taesd3, taef1, vaelight.")
@click.option("--paste-back", help="Also write local edits: each edit pasted into its photo inside a feathered "
              "ellipse covering one of these shares of the picture, comma-separated (e.g. 0.05,0.15,0.35); masks in "
              "OUT/.masks/.")
@click.option("--width", type=int, default=512, show_default=True, help="Target width (0 = keep aspect ratio).")
@click.option("--height", type=int, default=0, show_default=True, help="Target height (0 = keep aspect ratio).")
@click.option("--resize", type=click.Choice(["lanczos", "bicubic", "bilinear", "area", "nearest-exact"]),
              default="lanczos", show_default=True, help="Resizing method (ComfyUI ImageScale).")
@click.option("--crop", type=click.Choice(["disabled", "center"]), default="disabled", show_default=True)
@click.option("--post", default="none", show_default=True, help="Post-processing variants for both classes, "
              "comma-separated: none, jpeg75, webp80, heic60, resize0.5, crop0.8, social, or chains like "
              "crop0.9+jpeg70.")
@click.option("--format", "image_format", type=click.Choice(["png", "jpeg", "webp"]), default="png",
              show_default=True, help="File format of both classes (a trailing jpegQ variant wins).")
@click.option("--quality", type=int, default=95, show_default=True, help="JPEG/WebP quality for --format.")
@click.option("--batch-size", type=int, default=1, show_default=True,
              help="Edits per pipeline call (same strength, scheduler and size); raise it on a GPU.")
@click.option("--device", help="cpu, cuda, cuda:1... (default: cuda when available; per process under "
              "accelerate launch).")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16"]), help="Default: fp16 on CUDA, fp32 on CPU.")
@click.option("--provenance", help="Stamp edits: watermark, c2pa (comma-separated). Do not train on stamped sets.")
@click.pass_context
def generate(ctx: click.Context, recipe: str | None, **options) -> int:
    """Edit real photos with an img2img pipeline and write a labeled dataset.

    SOURCES are folders (searched recursively), images, or text files listing image paths. Output: OUT/real/,
    OUT/edited/ and OUT/metadata.jsonl (file_name, label real/edited, parameters), loadable with
    datasets.load_dataset("imagefolder", data_dir=OUT). Re-running skips finished files.

    \b
    Example (CPU, built-in tiny model and TAESD):
        forensics generate /work/shared/data/photos --out /tmp/ds --limit 4 --strengths 0.3,0.6 --model tiny --vae taesd

    \b
    Several GPUs:
        accelerate launch $(which forensics) generate ... --batch-size 8
    """
    from tqdm import tqdm

    from generator.dataset import DatasetBuilder, Recipe

    values = {}
    for name, value in options.items():
        explicit = ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        if recipe and not explicit:
            continue
        if name == "sources":
            value = list(value) or None
        elif name in _LISTS:
            value = _split(value, _LISTS[name])
        if value is not None:
            values[_FIELD.get(name, name)] = value
    try:
        plan = Recipe.from_file(recipe, **values) if recipe else Recipe(**values)
        builder = DatasetBuilder(plan)
    except (ValueError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc)) from exc

    bar = tqdm(unit="job", desc="generate", disable=None)

    def on_start(pending: int, total: int) -> None:
        bar.reset(total=pending)
        click.echo(f"{total} jobs planned, {pending} to do, output in {plan.out}", err=True)

    summary = builder.run(progress=bar.update, on_start=on_start)
    bar.close()
    if summary.model:
        click.echo(f"model: {summary.model}")
    rate = f", {summary.edits / summary.edit_seconds:.2f} edits/s" if summary.edit_seconds else ""
    return echo_summary(summary, "files", rate)


def echo_summary(summary: Summary | VideoSummary, unit: str, rate: str = "") -> int:
    """Print what a dataset build wrote, skipped and failed; return the exit code (3 if anything failed)."""
    click.echo(
        f"wrote {summary.written['real']} real and {summary.written['edited']} edited {unit}, skipped "
        f"{summary.skipped} already done, {len(summary.failed)} failed; {summary.records} records in "
        f"{summary.out / 'metadata.jsonl'} ({summary.elapsed_s:.1f} s{rate})"
    )
    for failure in summary.failed:
        click.echo(f"failed: {failure}", err=True)
    return EXIT_FAILURES if summary.failed else 0
