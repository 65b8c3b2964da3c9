"""Video containers through PyAV (FFmpeg); frames are decoded lazily, one at a time."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
import numpy as np

from forensics.media.errors import MediaError
from forensics.media.limits import MediaLimits


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream.

    ``frame_count`` is the container's claim (may be 0 or wrong); ``rotation`` is the
    display rotation in degrees that players apply. ``tags``: the container's metadata tags, then those of the
    video stream (camera make and model, software, comments...), bounded in number and length.
    """

    width: int
    height: int
    codec: str
    frame_count: int
    fps: float | None
    duration_s: float | None
    rotation: int
    has_audio: bool
    tags: dict[str, str] = field(default_factory=dict, hash=False)


MAX_TAGS = 100
MAX_TAG_CHARS = 2_000_000  # a generator's workflow JSON is well under this


def _tags(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> dict[str, str]:
    tags: dict[str, str] = {}
    for source in (container.metadata, stream.metadata):
        for key, value in list(source.items())[:MAX_TAGS]:
            tags.setdefault(str(key)[:200], str(value)[:MAX_TAG_CHARS])
    return tags


def probe_video(data: bytes, limits: MediaLimits) -> VideoInfo:
    """Read the container header and the first frame; refuse oversized or undecodable clips."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("unsupported", "the container holds no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > limits.max_pixels:
                raise MediaError("too_large", f"video frames of {width}x{height} exceed the pixel limit")
            first = next(container.decode(stream), None)
            if first is None:
                raise MediaError("truncated", "the video stream holds no decodable frame")
            rate = stream.average_rate or stream.guessed_rate
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            return VideoInfo(
                width=first.width,
                height=first.height,
                codec=stream.codec_context.name,
                frame_count=int(stream.frames or 0),
                fps=float(rate) if rate else None,
                duration_s=duration,
                rotation=int(getattr(first, "rotation", 0) or 0),
                has_audio=bool(container.streams.audio),
                tags=_tags(container, stream),
            )
    except MediaError:
        raise
    except av.error.InvalidDataError as exc:
        raise MediaError("unreadable", f"the video decoder rejected the file ({exc})") from exc
    except Exception as exc:
        raise MediaError("unreadable", f"the video could not be opened ({type(exc).__name__}: {exc})") from exc


def iter_video(data: bytes, stride: int, limit: int) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, time_s, rgb)`` for every ``stride``-th decodable frame, at most ``limit``.

    Frames are decoded one at a time, so memory stays bounded whatever the clip length.
    A stream that breaks off mid-way ends the iteration instead of raising: the frames
    decoded so far are still evidence.
    """
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yielded = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                if yielded >= limit:
                    break
                if index % stride:
                    continue
                time_s = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 30)
                yield index, time_s, frame.to_ndarray(format="rgb24")
                yielded += 1
        except av.error.InvalidDataError:
            return
