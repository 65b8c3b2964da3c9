"""Build a labeled real/edited image dataset in Hugging Face's ``imagefolder`` layout.

Layout of ``out/``::

    real/<source>-<sha8>[-<post>].<ext>          real photos, resized and encoded like the edits
    edited/<source>-<sha8>-<job>[-<post>].<ext>  img2img edits and autoencoder round trips
    local/<edit>-a<area %>.png                   with ``paste_back``: an edit pasted into its photo (local edit)
    .masks/<edit>-a<area %>.png                  its mask, 255 where the pixels are the edit's
    metadata.jsonl                               one record per file: ``file_name``, ``label`` ("real"/"edited")...
    .parts/metadata-<rank>.jsonl                 append-only journal per process (resumption, multi-GPU)
    .parts/merge.lock                            merges into metadata.jsonl take turns on it

``datasets.load_dataset("imagefolder", data_dir=out)`` reads it (the ``datasets`` library is not needed here).
Jobs are sources x strengths x seeds x prompts x schedulers (img2img), sources x VAEs (round trips) and sources
(real), each written once per post-processing variant. Re-running skips every file that already has a record;
with a fixed seed list the output is deterministic. Under ``accelerate launch`` the pending jobs are split
between processes with ``PartialState().split_between_processes`` and the main process merges the journals.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import tomllib
from PIL import Image, ImageOps

from forensics.atomic import atomic_writer
from generator.editor import Editor, EditParams, library_versions, load_editor
from generator.paste_back import paste_back
from generator.postprocess import PostProcess, encode
from generator.prompts import StylePrompt, resolve_prompts
from generator.provenance import Provenance
from generator.resize import ResizeSpec, resize_image, target_size

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
PARTS_DIR = ".parts"
METADATA = "metadata.jsonl"
MERGE_LOCK = "merge.lock"  # in PARTS_DIR
PROMPT_MODES = ("cycle", "all")

#: Editor-record fields that every dataset record (image or video) repeats as its own columns.
GENERATION_COLUMNS = (
    "steps", "effective_steps", "guidance", "seed", "scheduler", "scheduler_class",
    "prompt", "negative_prompt", "model_id", "weights_sha256", "vae",
)


def generation_columns(generation: dict) -> dict:
    """The record columns taken from an editor record (``{}`` for real files), plus versions and the full record."""
    return {
        **{key: generation.get(key) for key in GENERATION_COLUMNS},
        "versions": generation.get("versions") or library_versions(),
        "generation": json.dumps(generation, sort_keys=True) if generation else None,
    }


@dataclass
class Recipe:
    """Everything that defines a dataset; a recipe file (TOML or JSON) holds the same keys.

    ``prompt_mode`` "cycle" gives each edit one prompt, rotating through the list (one edit per source x strength
    x seed x scheduler); "all" edits with every prompt. Empty ``schedulers`` uses the model's own; empty ``styles``
    uses every built-in style. ``roundtrip_vaes`` adds autoencoder round trips (strength 0, DRCT-style) per VAE:
    "taesd", "taesdxl", "taesd3", "taef1", "vaelight", or any ``load_vae`` spec. ``paste_back`` areas (0-1) add
    local edits: each whole-image edit pasted into its real copy inside a feathered ellipse of one of those areas
    (:mod:`generator.paste_back`).
    """

    sources: list[str] = field(default_factory=list)
    out: str = ""
    limit: int | None = None
    strengths: list[float] = field(default_factory=lambda: [0.3, 0.5, 0.7])
    seeds: list[int] = field(default_factory=lambda: [0])
    styles: list[str] = field(default_factory=list)
    prompts_file: str | None = None
    prompt_mode: str = "cycle"
    schedulers: list[str] = field(default_factory=list)
    steps: int = 20
    guidance: float = 7.5
    model: str = "tiny"
    vae: str | None = None
    config: str | None = None
    variant: str | None = None
    roundtrip_vaes: list[str] = field(default_factory=list)
    paste_back: list[float] = field(default_factory=list)
    width: int = 512
    height: int = 0
    resize: str = "lanczos"
    crop: str = "disabled"
    postprocess: list[str] = field(default_factory=lambda: ["none"])
    image_format: str = "png"
    quality: int = 95
    batch_size: int = 1
    device: str | None = None
    dtype: str | None = None
    provenance: list[str] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Recipe:
        """Read a ``.toml`` or ``.json`` recipe; ``overrides`` (e.g. from the command line) win."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown recipe key(s) {', '.join(unknown)}")
        return cls(**(data | overrides))

    def validate(self) -> None:
        if not self.sources or not self.out:
            raise ValueError("a recipe needs sources and an output folder")
        if self.prompt_mode not in PROMPT_MODES:
            raise ValueError(f"prompt_mode must be one of {PROMPT_MODES}")
        for strength in self.strengths:
            self.edit_params(strength, 0, StylePrompt("check", ""), None).validate()
        ResizeSpec(self.width, self.height, self.resize, self.crop)
        for spec in self.postprocess:
            PostProcess.parse(spec)
        if any(not 0.0 < area < 1.0 for area in self.paste_back):
            raise ValueError("paste_back areas must lie strictly between 0 and 1")

    def resize_spec(self) -> ResizeSpec:
        return ResizeSpec(self.width, self.height, self.resize, self.crop)

    def edit_params(self, strength: float, seed: int, prompt: StylePrompt, scheduler: str | None) -> EditParams:
        return EditParams(
            prompt=prompt.prompt, negative_prompt=prompt.negative_prompt, strength=strength, steps=self.steps,
            guidance=self.guidance, seed=seed, scheduler=scheduler, width=self.width, height=self.height,
            resize=self.resize, crop=self.crop,
        )


@dataclass(frozen=True)
class Source:
    """A real photo: its path, the name recorded (relative to the source folder) and its sha256."""

    path: Path
    name: str
    sha256: str

    @property
    def stem(self) -> str:
        return f"{Path(self.name).stem}-{self.sha256[:8]}"


@dataclass(frozen=True)
class Job:
    """One image to produce (before post-processing): a real copy, an img2img edit or a round trip."""

    kind: str  # "real", "img2img" or "vae-roundtrip"
    source: Source
    strength: float = 0.0
    seed: int = 0
    prompt: StylePrompt | None = None
    scheduler: str | None = None
    vae: str | None = None

    @property
    def label(self) -> str:
        return "real" if self.kind == "real" else "edited"

    def key(self, recipe: Recipe) -> str:
        """Hash of everything that changes the pixels, so that a changed recipe never reuses an old file."""
        parts = {
            "job": [self.kind, self.source.sha256, self.strength, self.seed, self.scheduler, self.vae],
            "prompt": asdict(self.prompt) if self.prompt else None,
            "resize": asdict(recipe.resize_spec()),
        }
        if self.kind == "img2img":
            parts |= {"model": [recipe.model, recipe.vae, recipe.steps, recipe.guidance, recipe.variant]}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:10]

    def file_name(self, recipe: Recipe, post: PostProcess, extension: str) -> str:
        suffix = "" if post.name == "none" else "-" + post.name.replace("+", "_").replace(".", "p")
        if self.kind == "real":
            return f"real/{self.source.stem}{suffix}.{extension}"
        tag = "i2i" if self.kind == "img2img" else "rt"
        return f"edited/{self.source.stem}-{tag}-{self.key(recipe)}{suffix}.{extension}"


def list_sources(specs: Iterable[str], limit: int | None = None) -> list[Source]:
    """Image files from folders (recursive, sorted) and list files (one path per line), first ``limit`` of them."""
    found: list[tuple[Path, str]] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
                found.append((file, file.relative_to(path).as_posix()))
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            found.append((path, path.name))
        elif path.is_file():
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            found += [(Path(line).expanduser(), Path(line).name) for line in lines if line and not line.startswith("#")]
        else:
            raise FileNotFoundError(f"source {spec!r} is neither a folder, an image nor a list file")
    found = found[:limit] if limit else found
    return [Source(p, name, hashlib.sha256(p.read_bytes()).hexdigest()) for p, name in found]


def plan_jobs(recipe: Recipe, sources: list[Source]) -> list[Job]:
    """Every job of the recipe in a fixed order: per source, its real copy, its edits, its round trips."""
    prompts = resolve_prompts(recipe.styles, recipe.prompts_file)
    schedulers: list[str | None] = list(recipe.schedulers) or [None]
    jobs: list[Job] = []
    turn = 0
    for source in sources:
        jobs.append(Job("real", source))
        for strength in recipe.strengths:
            for seed in recipe.seeds:
                for scheduler in schedulers:
                    chosen = prompts if recipe.prompt_mode == "all" else [prompts[turn % len(prompts)]]
                    turn += 1
                    jobs += [Job("img2img", source, strength, seed, prompt, scheduler) for prompt in chosen]
        jobs += [Job("vae-roundtrip", source, vae=vae) for vae in recipe.roundtrip_vaes]
    return jobs


def load_source(source: Source) -> Image.Image:
    """Decode a source photo upright (EXIF orientation applied) in RGB."""
    with Image.open(source.path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def _upright_size(path: Path) -> tuple[int, int]:
    """Size after EXIF orientation, read from the header only."""
    with Image.open(path) as image:
        width, height = image.size
        rotated = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (height, width) if rotated else (width, height)


def read_records(out: Path) -> dict[str, dict]:
    """Records of files that exist, from ``metadata.jsonl`` and every journal, by ``file_name``."""
    records: dict[str, dict] = {}
    files = [out / METADATA, *sorted((out / PARTS_DIR).glob("metadata-*.jsonl"))]
    for file in files:
        if not file.is_file():
            continue
        for line in file.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interrupted run
                continue
            if (out / record["file_name"]).is_file():
                records[record["file_name"]] = record
    return records


def write_metadata(out: Path) -> int:
    """Merge the journals into ``metadata.jsonl`` (sorted by file name, atomically); returns the record count.

    Several processes may merge (generators sharing the work, feature extraction while generation goes on): they
    take turns, so the last merge has read every journal written before it and leaves every record in.
    """
    (out / PARTS_DIR).mkdir(parents=True, exist_ok=True)
    with open(out / PARTS_DIR / MERGE_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file closes, even if this process dies
        records = read_records(out)
        with atomic_writer(out / METADATA, encoding="utf-8") as handle:
            for name in sorted(records):
                handle.write(json.dumps(records[name], sort_keys=True) + "\n")
    return len(records)


@dataclass
class Summary:
    """What a run did."""

    out: Path
    model: str = ""
    written: dict[str, int] = field(default_factory=lambda: {"real": 0, "edited": 0})
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    records: int = 0
    elapsed_s: float = 0.0
    edit_seconds: float = 0.0
    edits: int = 0


class DatasetBuilder:
    """Runs a :class:`Recipe`: ``DatasetBuilder(recipe).run(progress=...)`` -> :class:`Summary`.

    ``editor`` may be given (an already loaded :class:`~generator.editor.Editor`); otherwise it is loaded on first
    need from ``recipe.model`` / ``recipe.vae``.
    """

    def __init__(self, recipe: Recipe, editor: Editor | None = None) -> None:
        recipe.validate()
        self.recipe = recipe
        self.out = Path(recipe.out)
        self.posts = [PostProcess.parse(spec) for spec in recipe.postprocess]
        self._editor = editor
        self._reconstructors: dict[str, Any] = {}
        self._provenance: Provenance | None = None

    def editor(self, device: str | None) -> Editor:
        if self._editor is None:
            recipe = self.recipe
            options = {k: v for k, v in (("config", recipe.config), ("variant", recipe.variant)) if v}
            self._editor = load_editor(recipe.model, vae=recipe.vae, device=device, dtype=recipe.dtype, **options)
        return self._editor

    def _extension(self, post: PostProcess) -> str:
        if post.output_jpeg_quality is not None or self.recipe.image_format == "jpeg":
            return "jpg"
        return self.recipe.image_format

    def pending(self, jobs: list[Job], done: dict[str, dict]) -> list[tuple[Job, list[PostProcess]]]:
        """Jobs with the post-processing variants whose files are still missing."""
        todo = []
        for job in jobs:
            posts = [p for p in self.posts if job.file_name(self.recipe, p, self._extension(p)) not in done]
            if posts:
                todo.append((job, posts))
        return todo

    def run(self, progress: Callable[[int], Any] | None = None, on_start: Callable[[int, int], Any] | None = None
            ) -> Summary:
        """Produce every missing file. ``on_start(pending_jobs, total_jobs)`` is called once the plan is known and
        ``progress(n)`` after each n finished jobs (e.g. a progress bar's ``update``)."""
        from accelerate import PartialState

        started = time.perf_counter()
        state = PartialState()
        device = self.recipe.device or (str(state.device) if state.num_processes > 1 else None)
        self._provenance = Provenance(self.recipe.provenance, self.out / PARTS_DIR) if self.recipe.provenance else None
        (self.out / PARTS_DIR).mkdir(parents=True, exist_ok=True)
        sources = list_sources(self.recipe.sources, self.recipe.limit)
        jobs = plan_jobs(self.recipe, sources)
        done = read_records(self.out)
        todo = self.pending(jobs, done)
        summary = Summary(self.out, skipped=sum(len(self.posts) for _ in jobs) - sum(len(p) for _, p in todo))
        if on_start:
            on_start(len(todo), len(jobs))
        journal = self.out / PARTS_DIR / f"metadata-{state.process_index}.jsonl"
        with state.split_between_processes(todo) as mine, journal.open("a", encoding="utf-8") as handle:
            for batch in self._batches(mine):
                try:
                    records = self._run_batch(batch, device, summary)
                except Exception as exc:  # one bad source must not stop a long run
                    summary.failed += [f"{job.source.name} ({job.kind}): {type(exc).__name__}: {exc}"
                                       for job, _ in batch]
                    records = []
                for record in records:
                    handle.write(json.dumps(record, sort_keys=True) + "\n")
                    summary.written[record["label"]] += 1
                handle.flush()
                if progress:
                    progress(len(batch))
        state.wait_for_everyone()
        if state.is_main_process:
            summary.written["edited"] += paste_back(self.out, self.recipe.paste_back)
            summary.records = write_metadata(self.out)
        summary.model = self._editor.description if self._editor else ""
        summary.elapsed_s = time.perf_counter() - started
        return summary

    def _batches(self, todo: list[tuple[Job, list[PostProcess]]]) -> Iterable[list[tuple[Job, list[PostProcess]]]]:
        """Real and round-trip jobs one by one; img2img jobs grouped by strength, scheduler and output size."""
        groups: dict[tuple, list] = {}
        for item in todo:
            job = item[0]
            if job.kind != "img2img" or self.recipe.batch_size <= 1:
                yield [item]
                continue
            try:
                size = target_size(_upright_size(job.source.path), self.recipe.resize_spec())
            except OSError:  # undecodable: let it fail alone, where failures are recorded
                yield [item]
                continue
            key = (job.strength, job.scheduler, size)
            groups.setdefault(key, []).append(item)
            if len(groups[key]) == self.recipe.batch_size:
                yield groups.pop(key)
        yield from groups.values()

    def _run_batch(self, batch: list[tuple[Job, list[PostProcess]]], device: str | None, summary: Summary
                   ) -> list[dict]:
        jobs = [job for job, _ in batch]
        first = jobs[0]
        images = [load_source(job.source) for job in jobs]
        if first.kind == "img2img":
            params = [self.recipe.edit_params(j.strength, j.seed, j.prompt, j.scheduler) for j in jobs]
            editor = self.editor(device)
            started = time.perf_counter()
            results = editor.edit_batch(images, params)
            summary.edit_seconds += time.perf_counter() - started
            summary.edits += len(jobs)
            outputs = [(result.image, result.record) for result in results]
        elif first.kind == "vae-roundtrip":
            outputs = [self._roundtrip(first, images[0])]
        else:
            outputs = [(resize_image(images[0], self.recipe.resize_spec()), None)]
        records = []
        for (job, posts), (image, generation) in zip(batch, outputs, strict=True):
            for post in posts:
                records.append(self._write(job, post, image, generation))
        return records

    def _roundtrip(self, job: Job, image: Image.Image) -> tuple[Image.Image, dict]:
        from forensics.autoencoders import load_reconstructor

        if job.vae not in self._reconstructors:
            self._reconstructors[job.vae] = load_reconstructor(job.vae)
        resized = resize_image(image, self.recipe.resize_spec())
        pixels = self._reconstructors[job.vae].roundtrip(np.asarray(resized))
        return Image.fromarray(pixels), {"kind": "vae-roundtrip", "vae": job.vae, "size": list(resized.size),
                                         "versions": library_versions()}

    def _write(self, job: Job, post: PostProcess, image: Image.Image, generation: dict | None) -> dict:
        recipe = self.recipe
        processed = post.apply(image)
        stamps: list[str] = []
        stamping = self._provenance is not None and job.label == "edited"
        if stamping:
            processed, stamps = self._provenance.mark_pixels(processed)
        data, extension = encode(processed, post, recipe.image_format, recipe.quality)
        if stamping:
            data, signed = self._provenance.sign(data, extension, generation or {})
            stamps += signed
        file_name = job.file_name(recipe, post, extension)
        path = self.out / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path, "wb") as handle:  # generators sharing the work may write the same file at once
            handle.write(data)
        generation = generation or {}
        return {
            "file_name": file_name,
            "label": job.label,
            "kind": job.kind,
            "source_file": job.source.name,
            "source_sha256": job.source.sha256,
            "sha256": hashlib.sha256(data).hexdigest(),
            "width": processed.width,
            "height": processed.height,
            "generated_size": list(image.size),
            "resize": asdict(recipe.resize_spec()),
            "postprocess": post.name,
            "format": extension,
            "quality": post.output_jpeg_quality or (recipe.quality if extension != "png" else None),
            "strength": job.strength if job.kind != "real" else None,
            "style": job.prompt.name if job.prompt else None,
            "provenance": stamps,
            **generation_columns(generation),
        }
