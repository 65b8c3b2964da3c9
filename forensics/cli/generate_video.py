"""``forensics generate-video``: stylize clips frame by frame with img2img (thin layer over ``generator.video``)."""

from __future__ import annotations

import click

from forensics.cli.generate import echo_summary


def _floats(value: str) -> list[float]:
    return [float(item) for item in value.split(",") if item.strip()]


@click.command("generate-video")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--limit", type=int, help="Use only the first N clips (sorted).")
@click.option("--max-frames", type=int, default=24, show_default=True, help="Frames per clip (from the start).")
@click.option("--stride", type=int, default=1, show_default=True, help="Keep every N-th frame (fps is divided).")
@click.option("--long-side", type=int, default=256, show_default=True,
              help="Resize frames so the long side is this many px (multiple of 8; 0 keeps the size).")
@click.option("--strengths", default="0.3,0.5", show_default=True, help="Denoise strengths, comma-separated.")
@click.option("--noise", type=click.Choice(["shared", "per-frame", "both"]), default="shared", show_default=True,
              help="shared: the same seed (initial noise) for every frame, as careful editors do; per-frame: "
              "seed + frame number.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--style", default="oil-painting", show_default=True, help="Built-in style prompt (generator.prompts).")
@click.option("--steps", type=int, default=20, show_default=True)
@click.option("--cfg", type=float, default=7.5, show_default=True, help="Classifier-free guidance scale.")
@click.option("--scheduler", help="Scheduler name (diffusers, A1111 or ComfyUI spelling); default: the model's.")
@click.option("--model", default="tiny", show_default=True, help="Built-in name (tiny, inhouse-ldm), folder or file.")
@click.option("--vae", help="VAE override: taesd, a folder, a file.")
@click.option("--device", help="cpu, cuda... (default: cuda when available).")
@click.option("--crf", type=int, default=18, show_default=True, help="H.264 quality of every clip, real and edited.")
def generate_video(sources: tuple[str, ...], out: str, limit: int | None, max_frames: int, stride: int,
                   long_side: int, strengths: str, noise: str, seed: int, style: str, steps: int, cfg: float,
                   scheduler: str | None, model: str, vae: str | None, device: str | None, crf: int) -> int:
    """Stylize video clips frame by frame with img2img and write a labeled video dataset.

    SOURCES are clips or folders (searched recursively). Output: OUT/real/ (the source clips, resized and
    re-encoded exactly like the edits), OUT/edited/ and OUT/metadata.jsonl. Re-running skips finished clips.

    Example (CPU, built-in tiny model):

        forensics generate-video /work/shared/data/videos --out /tmp/vds --limit 2 --max-frames 12 --long-side 128
    """
    from generator.video import VideoDatasetBuilder, VideoRecipe

    recipe = VideoRecipe(
        sources=list(sources), out=out, limit=limit, max_frames=max_frames, stride=stride, long_side=long_side,
        strengths=_floats(strengths), noise=["shared", "per-frame"] if noise == "both" else [noise], seed=seed,
        style=style, steps=steps, guidance=cfg, scheduler=scheduler, model=model, vae=vae, device=device, crf=crf,
    )
    try:
        builder = VideoDatasetBuilder(recipe)
    except (ValueError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc)) from exc
    summary = builder.run(progress=lambda name: click.echo(f"wrote {name}", err=True))
    return echo_summary(summary, "clips")
