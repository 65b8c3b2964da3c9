"""The one error type media loading raises, with a stable machine-readable code."""

from __future__ import annotations

from typing import Literal

MediaErrorCode = Literal["empty", "not_media", "unsupported", "truncated", "too_large", "unreadable"]


class MediaError(Exception):
    """A file that cannot be analysed, with a reason a person understands.

    ``code`` is one of ``empty``, ``not_media``, ``unsupported``, ``truncated``,
    ``too_large`` (size or decompression-bomb limits) and ``unreadable``.
    """

    def __init__(self, code: MediaErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
