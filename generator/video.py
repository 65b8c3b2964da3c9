"""Video mode: img2img applied frame by frame to real clips (the common way to "stylize" footage).

Every frame goes through the same edit: same prompt, same seed and so the same initial noise (what a careful
editor does to limit flicker; ``noise="per-frame"`` gives each frame its own seed instead), a moderate strength.
Clips are re-encoded as H.264 (yuv420p, constant frame rate = the source's average rate divided by the stride).
Real clips go through the same decode, resize and encode, so the codec is no shortcut for a detector.

Layout of ``out/`` (the image dataset's conventions, :mod:`generator.dataset`)::

    real/<source>-<sha8>.mp4               real clips, resized and re-encoded like the edits
    edited/<source>-<sha8>-i2i-<key>.mp4   frame-by-frame img2img
    metadata.jsonl                          one record per clip: ``file_name``, ``label`` ("real"/"edited")...

Work is bounded by ``max_frames``, ``stride`` and ``long_side`` so CPU runs stay short.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np
from PIL import Image

from forensics.analyzers.temporal_flow import upright
from forensics.media import load_media
from generator.dataset import PARTS_DIR, generation_columns, read_records, write_metadata
from generator.editor import Editor, EditParams, load_editor
from generator.prompts import STYLE_PROMPTS, StylePrompt
from generator.resize import ResizeSpec, resize_image

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".gif")
NOISE_MODES = ("shared", "per-frame")
CODEC, PIX_FMT = "libx264", "yuv420p"

__all__ = [
    "Clip",
    "VideoDatasetBuilder",
    "VideoRecipe",
    "read_clip",
    "stylize_clip",
    "write_h264",
]


@dataclass
class Clip:
    """Decoded frames of a source clip, ready to edit.

    ``frames``: RGB H x W x 3 uint8, upright (display rotation applied), resized; ``fps``: output frame rate
    (source average rate / stride); ``indices``: source frame numbers of the frames.
    """

    path: Path
    sha256: str
    frames: list[np.ndarray]
    fps: Fraction
    indices: list[int]
    source_size: tuple[int, int]
    source_fps: float | None
    rotation: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return self.frames[0].shape[1], self.frames[0].shape[0]


def _resize_spec(size: tuple[int, int], long_side: int) -> ResizeSpec:
    """Keep the aspect ratio with the long side at ``long_side`` px (0 keeps the size); rounded to 8 px."""
    if long_side <= 0:
        return ResizeSpec()
    width, height = size
    return ResizeSpec(width=long_side) if width >= height else ResizeSpec(height=long_side)


def read_clip(path: str | Path, max_frames: int = 24, stride: int = 1, long_side: int = 256) -> Clip:
    """Decode the first ``max_frames`` frames (every ``stride``-th) of a video or animation, upright and resized.

    Raises :class:`forensics.media.MediaError` for unreadable files and ``ValueError`` for stills.
    """
    media = load_media(path)
    if media.kind != "video":
        raise ValueError(f"{path}: not a video or animation")
    rotation = media.video.rotation if media.video else 0
    frames, indices, times = [], [], []
    for frame in media.frames(stride=stride, max_frames=max_frames):
        image = Image.fromarray(upright(frame.rgb, rotation))
        frames.append(np.asarray(resize_image(image, _resize_spec(image.size, long_side))))
        indices.append(frame.index)
        times.append(frame.time_s)
    if not frames:
        raise ValueError(f"{path}: no decodable frame")
    source_fps = media.video.fps if media.video else None
    if source_fps is None and len(times) > 1 and times[-1] > times[0]:  # animations: from the frame durations
        source_fps = (len(times) - 1) * stride / (times[-1] - times[0])
    fps = Fraction(source_fps or 10.0).limit_denominator(1001) / stride
    return Clip(Path(path), media.sha256, frames, fps, indices, (media.width, media.height), source_fps, rotation)


def write_h264(frames: Iterable[np.ndarray], path: str | Path, fps: Fraction, crf: int = 18) -> None:
    """Encode RGB frames (H x W x 3 uint8, even sizes) as H.264 yuv420p MP4 at a constant ``fps``."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(CODEC, rate=fps)
        stream.pix_fmt = PIX_FMT
        stream.options = {"crf": str(crf)}
        for i, rgb in enumerate(frames):
            if i == 0:
                stream.height, stream.width = rgb.shape[:2]
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        container.mux(stream.encode())


def stylize_clip(
    editor: Editor, clip: Clip, params: EditParams, noise: str = "shared"
) -> tuple[list[np.ndarray], dict]:
    """img2img on every frame with the same ``params``; returns the edited frames and the first frame's record.

    ``noise="shared"`` keeps ``params.seed`` (hence the initial noise) for every frame; ``"per-frame"`` uses
    ``seed + frame number``.
    """
    if noise not in NOISE_MODES:
        raise ValueError(f"noise must be one of {NOISE_MODES}, got {noise!r}")
    edited, first_record = [], {}
    for i, rgb in enumerate(clip.frames):
        seed = params.seed if noise == "shared" else params.seed + i
        result = editor.edit(Image.fromarray(rgb), replace(params, seed=seed))
        edited.append(np.asarray(result.image.convert("RGB")))
        first_record = first_record or result.record
    return edited, first_record


@dataclass
class VideoRecipe:
    """Everything that defines a video dataset (a subset of the image recipe's keys, plus the video bounds).

    ``sources``: video files or folders (searched recursively for ``VIDEO_SUFFIXES``); ``limit``: first N clips.
    ``max_frames``/``stride``/``long_side`` bound the work per clip. Jobs are sources x strengths x noise modes,
    plus one real copy per source.
    """

    sources: list[str] = field(default_factory=list)
    out: str = ""
    limit: int | None = None
    max_frames: int = 24
    stride: int = 1
    long_side: int = 256
    strengths: list[float] = field(default_factory=lambda: [0.3, 0.5])
    noise: list[str] = field(default_factory=lambda: ["shared"])
    seed: int = 0
    style: str = "oil-painting"
    steps: int = 20
    guidance: float = 7.5
    scheduler: str | None = None
    model: str = "tiny"
    vae: str | None = None
    device: str | None = None
    crf: int = 18

    def validate(self) -> None:
        if not self.sources or not self.out:
            raise ValueError("a video recipe needs sources and an output folder")
        if self.style not in STYLE_PROMPTS:
            raise ValueError(f"unknown style {self.style!r}; built-in: {', '.join(STYLE_PROMPTS)}")
        if self.max_frames < 1 or self.stride < 1 or self.long_side < 0:
            raise ValueError("max_frames and stride must be >= 1, long_side >= 0")
        for mode in self.noise:
            if mode not in NOISE_MODES:
                raise ValueError(f"noise must be among {NOISE_MODES}, got {mode!r}")
        for strength in self.strengths:
            self.edit_params(strength).validate()

    def prompt(self) -> StylePrompt:
        return STYLE_PROMPTS[self.style]

    def edit_params(self, strength: float) -> EditParams:
        prompt = self.prompt()
        return EditParams(prompt=prompt.prompt, negative_prompt=prompt.negative_prompt, strength=strength,
                          steps=self.steps, guidance=self.guidance, seed=self.seed, scheduler=self.scheduler)


def _digest(values: list, length: int) -> str:
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:length]


def list_videos(specs: Iterable[str], limit: int | None = None) -> list[Path]:
    """Video files from folders (recursive, sorted) and single files, first ``limit`` of them."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"source {spec!r} is neither a folder nor a file")
    return found[:limit] if limit else found


@dataclass
class VideoSummary:
    """What a run did: clips written per label, clips skipped (already there), failures."""

    out: Path
    written: dict[str, int] = field(default_factory=lambda: {"real": 0, "edited": 0})
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    records: int = 0
    elapsed_s: float = 0.0


class VideoDatasetBuilder:
    """Runs a :class:`VideoRecipe`: ``VideoDatasetBuilder(recipe).run()`` -> :class:`VideoSummary`.

    Re-running skips clips that already have a record. ``editor`` may be given (a loaded
    :class:`~generator.editor.Editor`), else it is loaded from ``recipe.model`` on first need.
    """

    def __init__(self, recipe: VideoRecipe, editor: Editor | None = None) -> None:
        recipe.validate()
        self.recipe = recipe
        self.out = Path(recipe.out)
        self._editor = editor

    def editor(self) -> Editor:
        if self._editor is None:
            self._editor = load_editor(self.recipe.model, vae=self.recipe.vae, scheduler=self.recipe.scheduler,
                                       device=self.recipe.device)
        return self._editor

    def jobs(self) -> list[tuple[str, float | None, str | None]]:
        """(label, strength, noise mode) of every clip made from one source, real copy first."""
        return [("real", None, None)] + [
            ("edited", strength, noise) for strength in self.recipe.strengths for noise in self.recipe.noise
        ]

    def file_name(self, clip: Clip, strength: float | None, noise: str | None) -> str:
        """Named by the settings that shape the file: runs that decode or encode a source differently (another
        stride, size or quality) get their own real copy, as their edits are their own."""
        r = self.recipe
        stem = f"{clip.path.stem}-{clip.sha256[:8]}"
        encoding = [r.max_frames, r.stride, r.long_side, r.crf]
        if strength is None:
            return f"real/{stem}-{_digest(encoding, 8)}.mp4"
        key = [r.model, r.vae, r.style, r.steps, r.guidance, r.seed, r.scheduler, strength, noise, *encoding]
        return f"edited/{stem}-i2i-{_digest(key, 10)}.mp4"

    def run(self, progress: Callable[[str], Any] | None = None) -> VideoSummary:
        """Produce every missing clip and merge ``metadata.jsonl``; ``progress(file_name)`` after each clip."""
        started = time.perf_counter()
        summary = VideoSummary(self.out)
        (self.out / PARTS_DIR).mkdir(parents=True, exist_ok=True)
        done = read_records(self.out)
        with (self.out / PARTS_DIR / "metadata-video.jsonl").open("a", encoding="utf-8") as journal:
            for path in list_videos(self.recipe.sources, self.recipe.limit):
                try:
                    self._run_source(path, done, journal, summary, progress)
                except Exception as exc:  # one bad clip must not stop a run
                    summary.failed.append(f"{path}: {type(exc).__name__}: {exc}")
        summary.records = write_metadata(self.out)
        summary.elapsed_s = time.perf_counter() - started
        return summary

    def _run_source(self, path: Path, done: dict[str, dict], journal: TextIO, summary: VideoSummary,
                    progress: Callable[[str], Any] | None) -> None:
        r = self.recipe
        clip = read_clip(path, r.max_frames, r.stride, r.long_side)
        for label, strength, noise in self.jobs():
            file_name = self.file_name(clip, strength, noise)
            if file_name in done:
                summary.skipped += 1
                continue
            if strength is None:
                frames, generation = clip.frames, None
            else:
                frames, generation = stylize_clip(self.editor(), clip, r.edit_params(strength), noise)
            target = self.out / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.stem + ".part.mp4")
            write_h264(frames, partial, clip.fps, r.crf)
            partial.replace(target)
            record = self._record(clip, file_name, label, strength, noise, generation, target.read_bytes())
            journal.write(json.dumps(record, sort_keys=True) + "\n")
            journal.flush()
            summary.written[label] += 1
            if progress:
                progress(file_name)

    def _record(self, clip: Clip, file_name: str, label: str, strength: float | None, noise: str | None,
                generation: dict | None, data: bytes) -> dict:
        r = self.recipe
        generation = generation or {}
        width, height = clip.size
        return {
            "file_name": file_name,
            "label": label,
            "kind": "real" if label == "real" else "img2img-video",
            "media_kind": "video",
            "source_file": clip.path.name,
            "source_sha256": clip.sha256,
            "source_size": list(clip.source_size),
            "source_fps": clip.source_fps,
            "source_rotation": clip.rotation,
            "sha256": hashlib.sha256(data).hexdigest(),
            "width": width,
            "height": height,
            "frames": len(clip.frames),
            "source_frames": clip.indices,
            "fps": float(clip.fps),
            "stride": r.stride,
            "max_frames": r.max_frames,
            "long_side": r.long_side,
            "format": "mp4",
            "codec": "h264",
            "pix_fmt": PIX_FMT,
            "crf": r.crf,
            "strength": strength,
            "noise": noise,
            "style": r.style if label == "edited" else None,
            **generation_columns(generation),
        }
