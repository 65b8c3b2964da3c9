"""Temporal-flicker analyzer: texture that boils from frame to frame where the scene does not move.

Img2img applied frame by frame to footage (the common way to "stylize" video) re-synthesises texture in every
frame. Real footage carries its texture along with the motion. So, for each pair of consecutive sampled frames,
the analyzer estimates the motion (DIS optical flow on the frames' structure), warps the previous frame onto the
current one and measures how much band-passed texture energy the motion does not explain, in reliable
(non-occluded) textured regions (see :mod:`forensics.analyzers.temporal_flow`). The score rests on the coarse band
of that flicker relative to the amount of motion (see ``_SCORE_CENTER``). The evidence also holds the temporal
spectrum of the flicker, how the noise residual behaves over time (correlated at fixed pixel positions, as a
reused diffusion noise is, or along the motion, as a scene's texture is) and, on request, the scores of
still-image analyzers on a few frames.

Every frame is analysed at a fixed resolution (long side 256 px by default; larger clips shrunk, smaller ones
enlarged) for speed and so that the bands are the same fraction of any frame. Audio is not analysed.
"""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np
from PIL import Image

from forensics.analyzers import registry
from forensics.analyzers.base import (
    Analyzer,
    AnalyzerUnavailable,
    Evidence,
    Finding,
    LinePlot,
    Picture,
    Severity,
)
from forensics.analyzers.temporal_flow import (
    ANALYSIS_LONG_SIDE,
    BANDS,
    FramePairMeter,
    PairMeasure,
    analysis_gray,
    histogram_similarity,
    upright,
)
from forensics.media import media_from_bytes

if TYPE_CHECKING:
    from forensics.media import Media

# ---- score mapping -------------------------------------------------------------------------
# The clip's statistic is ``flicker_excess = log(flicker_coarse) - log(motion_px + _MOTION_FLOOR_PX)``: the median
# coarse-band flicker ratio, relative to the median motion (px at the 256 px analysis resolution). Real footage only
# fails to carry its texture along where motion is hard (occlusions, blur, non-rigid water), so its residual grows
# with motion; re-synthesised texture flickers even when little moves (and a noise pattern reused in every frame
# drags the flow towards zero). score = sigmoid((flicker_excess - _SCORE_CENTER) / _SCORE_SCALE).
# Measured with ``benchmarks/temporal_fps.py --calibrate`` (analyzer defaults: first 48 frames, stride 1, 256 px):
# the 16 shared real clips of 8+ frames gave flicker_excess -7.8 to -4.4 (highest: the thermal clip, then the two
# sea/sky clips, -4.9), and their 128 px / 12-frame re-encodes by ``generator.video`` -7.7 to -4.6. Stylized versions
# of 6 of them by ``generator.video`` (built-in tiny model + TAESD, shared noise; strength 0.3 and 0.5 at CFG 7.5,
# 0.3 at CFG 1) gave -3.7 to -2.7 (18 clips). The centre sits in that gap; the scale puts the highest real clip at
# 0.21 and the lowest stylized clip at 0.80. Few clips and one (random-weight) generator: treat the score as a
# measured rule, not a calibrated probability (models/video, trained on these features, gives that). Per-frame
# fresh noise breaks continuity altogether (see ``_DISCONTINUOUS_SCORE_CAP``).
_MOTION_FLOOR_PX = 0.2
_SCORE_CENTER = -4.05
_SCORE_SCALE = 0.25

#: Pairs whose grey-level histograms correlate less than this are treated as scene cuts.
_CUT_SIMILARITY = 0.5
#: More broken pairs (cut-like or unreliable flow) than this share, and more than one, is no longer a few cuts
#: but a clip without continuity.
_MAX_BROKEN_SHARE = 0.25
#: Highest score of a clip without continuity: a slideshow and per-frame re-synthesis cannot be told apart.
_DISCONTINUOUS_SCORE_CAP = 0.6
#: Pairs with less than this share of consistent flow (flash, heavy blur, cut) are not measured.
_MIN_RELIABLE = 0.3
#: Pairs with less than this share of reliable textured pixels carry no texture to judge.
_MIN_TEXTURED = 0.01
#: Median motion (px at analysis resolution) under which the shot counts as static.
_STATIC_MOTION_PX = 0.3
_THUMB_LONG_SIDE = 240


@dataclass
class _Sample:
    """One decoded sampled frame: stream index, time (s), analysis greyscale, small RGB thumbnail."""

    index: int
    time_s: float
    gray: np.ndarray
    thumb: np.ndarray


class TemporalAnalyzer(Analyzer):
    """Flags frame-by-frame re-synthesised texture in videos and animations.

    Args:
        stride: analyse every ``stride``-th decoded frame (consecutive samples form the pairs).
        max_frames: at most this many sampled frames (from the start of the clip).
        analysis_long_side: frames are shrunk to this long side (px) before flow and residuals.
        min_frames: fewer sampled frames than this give "not enough frames", never a verdict.
        frame_analyzers: still-image analyzers (registry names) to run on a few full-resolution frames; their
            mean score becomes feature ``frame_<name>_score``. Off by default: the scored one, "reconstruction",
            took about 45 s per frame on this project's CPU machine (unscored ones give NaN).
        frame_samples: how many frames (evenly spread over the analysed ones) those analyzers see.
        worst_frames: how many of the most flickering frames are shown as thumbnails.
    """

    name = "temporal"
    version = "1.1"  # 1.1: the count of measured pairs left the features (it is in details): a length, not a trace
    description = "Texture flicker not explained by motion (frame-by-frame img2img stylization of video)."
    media_kinds: ClassVar[tuple[str, ...]] = ("video",)
    signal = True

    def __init__(
        self,
        stride: int = 1,
        max_frames: int = 48,
        analysis_long_side: int = ANALYSIS_LONG_SIDE,
        min_frames: int = 8,
        frame_analyzers: tuple[str, ...] = (),
        frame_samples: int = 2,
        worst_frames: int = 3,
    ) -> None:
        if stride < 1 or max_frames < 2 or min_frames < 2 or analysis_long_side < 32:
            raise ValueError("stride >= 1, max_frames >= 2, min_frames >= 2 and analysis_long_side >= 32 required")
        self.stride = stride
        self.max_frames = max_frames
        self.analysis_long_side = analysis_long_side
        self.min_frames = min_frames
        self.frame_analyzers = tuple(frame_analyzers)
        self.frame_samples = frame_samples
        self.worst_frames = worst_frames

    def analyze(self, media: Media) -> Evidence:
        rotation = media.video.rotation if media.video is not None else 0
        samples, picked_rgb = self._decode(media, rotation)
        findings = _context_findings(media, samples)
        if len(samples) < self.min_frames:
            raise AnalyzerUnavailable(
                f"not enough frames: {len(samples)} decoded (stride {self.stride}), "
                f"at least {self.min_frames} are needed to judge temporal consistency"
            )

        measured, skipped, discontinuous = _measure_pairs(samples)
        details = {
            "frames_analyzed": len(samples),
            "stride": self.stride,
            "analysis_size": list(samples[0].gray.shape[::-1]),
            "pairs_measured": len(measured),
            "pairs_skipped": skipped,
            "score_mapping": {
                "statistic": "log(flicker_coarse) - log(motion_px + motion_floor_px)",
                "motion_floor_px": _MOTION_FLOOR_PX,
                "center": _SCORE_CENTER,
                "scale": _SCORE_SCALE,
            },
        }
        if discontinuous:
            findings.append(
                Finding(
                    "temporal.no_continuity",
                    f"Consecutive frames do not follow each other ({skipped['broken']} of {len(samples) - 1} pairs "
                    "look like cuts or defeat motion estimation): a slideshow, a very sparse time-lapse, or "
                    "re-synthesis with fresh noise in every frame. The score is held in the uncertain band.",
                    Severity.MEDIUM,
                )
            )
        elif skipped["scene_cut"]:
            findings.append(
                Finding("temporal.scene_cuts", f"{skipped['scene_cut']} scene cut(s) found and skipped.", Severity.INFO)
            )
        frame_features = self._frame_scores(picked_rgb, details)
        if len(measured) < self.min_frames // 2:
            findings.append(
                Finding(
                    "temporal.not_enough_pairs",
                    f"Only {len(measured)} frame pair(s) could be compared (cuts, flat or unstable frames): "
                    "not enough to judge temporal consistency.",
                    Severity.INFO,
                )
            )
            return self.new_evidence(features=frame_features, findings=findings, details=details)

        features = {**_aggregate(measured), **frame_features}
        score = _score(features["flicker_excess"])
        if discontinuous:
            score = min(score, _DISCONTINUOUS_SCORE_CAP)
        findings += _flicker_findings(features, score)
        figures = [*_time_plots(measured), *self._worst_frame_pictures(measured)]
        details["per_pair"] = [
            {"frame": s.index, "time_s": round(s.time_s, 4), **{k: round(v, 5) for k, v in p.flicker.items()}}
            for s, p in measured
        ]
        return self.new_evidence(features=features, findings=findings, figures=figures, details=details, score=score)

    def _decode(self, media: Media, rotation: int) -> tuple[list[_Sample], list[np.ndarray]]:
        """Sampled frames at analysis resolution, plus a few full-resolution RGB frames for the still analyzers."""
        claimed = max(1, media.frame_count // self.stride) if media.frame_count else self.max_frames
        expected = min(self.max_frames, claimed)
        picks = set(np.linspace(0, max(expected - 1, 0), num=max(self.frame_samples, 1), dtype=int).tolist())
        samples: list[_Sample] = []
        picked_rgb: list[np.ndarray] = []
        for i, frame in enumerate(media.frames(stride=self.stride, max_frames=self.max_frames)):
            rgb = upright(frame.rgb, rotation)
            samples.append(_Sample(frame.index, frame.time_s, analysis_gray(rgb, self.analysis_long_side), _thumb(rgb)))
            if i in picks and self.frame_samples > 0 and self.frame_analyzers:
                picked_rgb.append(rgb)
        return samples, picked_rgb

    def _frame_scores(self, frames: list[np.ndarray], details: dict) -> dict[str, float]:
        """Mean score of each registered still-image signal analyzer over a few frames (NaN if none)."""
        available = [n for n in self.frame_analyzers if n in registry.names() and n != self.name]
        features: dict[str, float] = {}
        per_frame: dict[str, list[float | None]] = {}
        for name in available:
            analyzer = registry.create(name)
            scores = []
            for rgb in frames:
                buffer = io.BytesIO()
                Image.fromarray(rgb).save(buffer, format="PNG")  # lossless: the decoded frame, unchanged
                evidence = analyzer.run(media_from_bytes(buffer.getvalue()))
                scores.append(evidence.score if evidence.status == "ok" else None)
            per_frame[name] = scores
            valid = [s for s in scores if s is not None]
            features[f"frame_{name}_score"] = float(np.mean(valid)) if valid else math.nan
        if per_frame:
            details["frame_analyzer_scores"] = per_frame
        return features

    def _worst_frame_pictures(self, measured: list[tuple[_Sample, PairMeasure]]) -> list[Picture]:
        """The frames with the most coarse-band flicker: the frame beside its residual map."""
        order = sorted(measured, key=lambda sp: sp[1].flicker["coarse"], reverse=True)[: self.worst_frames]
        pictures = []
        for rank, (sample, pair) in enumerate(order, start=1):
            residual = cv2.resize(pair.residual, sample.thumb.shape[1::-1], interpolation=cv2.INTER_AREA)
            # 0.05 (13 grey levels) of mid-band residual amplitude saturates the map
            grey = np.clip(residual / 0.05 * 255.0, 0, 255).astype(np.uint8)
            pictures.append(
                Picture(
                    name=f"temporal_worst_{rank}",
                    title=f"Frame {sample.index} ({sample.time_s:.2f} s): coarse flicker {pair.flicker['coarse']:.4f}",
                    caption="Left: the frame. Right: texture the motion does not explain "
                    "(1-8 px band-passed residual after warping the previous frame; brighter = more flicker).",
                    data=np.concatenate([sample.thumb, np.repeat(grey[:, :, None], 3, axis=2)], axis=1),
                )
            )
        return pictures


def _measure_pairs(samples: list[_Sample]) -> tuple[list[tuple[_Sample, PairMeasure]], dict[str, int], bool]:
    """Measure consecutive pairs; returns the measured pairs (with their current frame), skip counts, and whether
    the clip is discontinuous throughout.

    A pair is *broken* when it looks like a cut (histograms differ) or its flow is unreliable (flash, heavy blur).
    A few broken pairs are cuts and accidents, and are skipped; when they are too many to be that
    (``_MAX_BROKEN_SHARE``), the clip has no continuity, and every pair is kept.
    """
    pairs = [(prev, cur) for prev, cur in itertools.pairwise(samples) if not np.array_equal(prev.gray, cur.gray)]
    meter = FramePairMeter()
    cut_like = [histogram_similarity(prev.gray, cur.gray) < _CUT_SIMILARITY for prev, cur in pairs]
    measures = [meter.measure(prev.gray, cur.gray) for prev, cur in pairs]
    unreliable = [m.reliable_fraction < _MIN_RELIABLE for m in measures]
    broken = sum(c or u for c, u in zip(cut_like, unreliable, strict=True))
    discontinuous = broken > max(1, _MAX_BROKEN_SHARE * len(pairs))
    skipped = {
        "duplicate": len(samples) - 1 - len(pairs),  # repeated frames (variable frame rate, telecine) say nothing
        "scene_cut": 0,
        "unreliable_flow": 0,
        "flat": 0,
        "broken": broken,
    }
    if discontinuous:
        measures = [meter.measure(prev.gray, cur.gray, reliable_only=False) for prev, cur in pairs]
    measured = []
    for (_, cur), measure, is_cut, is_unreliable in zip(pairs, measures, cut_like, unreliable, strict=True):
        if is_cut and not discontinuous:
            skipped["scene_cut"] += 1
        elif is_unreliable and not discontinuous:
            skipped["unreliable_flow"] += 1
        elif measure.textured_fraction < _MIN_TEXTURED:
            skipped["flat"] += 1
        else:
            measured.append((cur, measure))
    return measured, skipped, discontinuous


def _thumb(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, _THUMB_LONG_SIDE / max(h, w))
    if scale == 1.0:
        return rgb.copy()
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _context_findings(media: Media, samples: list[_Sample]) -> list[Finding]:
    """Facts that qualify the analysis: audio left out, variable frame rate, palette animations."""
    findings = []
    if media.video is not None and media.video.has_audio:
        findings.append(
            Finding("temporal.audio_not_analyzed", "The clip has an audio track; audio is not analysed.", Severity.INFO)
        )
    times = np.array([s.time_s for s in samples])
    steps = np.diff(times)
    if len(steps) >= 3 and steps.mean() > 0 and steps.std() / steps.mean() > 0.2:
        findings.append(
            Finding(
                "temporal.variable_frame_rate",
                f"Variable frame rate: frame intervals from {steps.min() * 1000:.0f} to {steps.max() * 1000:.0f} ms "
                "(pairs are compared frame to frame, so this does not bias the flicker measure).",
                Severity.INFO,
            )
        )
    if media.format == "GIF":  # GIF frames are always palette images
        findings.append(
            Finding(
                "temporal.palette_animation",
                "GIF animation: per-frame palette quantisation and dithering can add flicker "
                "that is not from a generator.",
                Severity.LOW,
            )
        )
    return findings


def _aggregate(measured: list[tuple[_Sample, PairMeasure]]) -> dict[str, float]:
    """Clip-level features: medians over measured pairs (robust to a few bad flows), and the temporal spectrum."""
    pairs = [p for _, p in measured]
    features = {f"flicker_{band}": float(np.median([p.flicker[band] for p in pairs])) for band in BANDS}
    features["flicker_coarse_p90"] = float(np.percentile([p.flicker["coarse"] for p in pairs], 90))
    static = np.array([p.noise_corr_static for p in pairs])
    warped = np.array([p.noise_corr_warped for p in pairs])
    features["noise_corr_static"] = float(np.nanmedian(static)) if np.isfinite(static).any() else math.nan
    features["noise_corr_warped"] = float(np.nanmedian(warped)) if np.isfinite(warped).any() else math.nan
    features["motion_px"] = float(np.median([p.motion_px for p in pairs]))
    features["reliable_fraction"] = float(np.median([p.reliable_fraction for p in pairs]))
    features["flicker_excess"] = math.log(max(features["flicker_coarse"], 1e-9)) - math.log(
        features["motion_px"] + _MOTION_FLOOR_PX
    )
    features["flicker_hf_fraction"] = _high_frequency_fraction(_log_series(pairs))
    return features


def _high_frequency_fraction(series: np.ndarray) -> float:
    """Share of a series' (mean-removed) power in the upper half of its temporal spectrum.

    Flicker that is independent from frame to frame is white (about 0.5); flicker that follows slow changes of
    the shot (motion, exposure) stays at low temporal frequencies; encoders that alternate frame quality push it
    to the top. Reported, not scored: on the shared clips it does not separate real from stylized. NaN under 8.
    """
    if len(series) < 8:
        return math.nan
    power = np.abs(np.fft.rfft(series - series.mean())) ** 2
    total = power[1:].sum()
    return float(power[len(power) // 2 :].sum() / total) if total > 0 else math.nan


def _log_series(pairs: list[PairMeasure]) -> np.ndarray:
    """log of the coarse-band flicker of consecutive pairs (the scored band)."""
    return np.log([max(p.flicker["coarse"], 1e-9) for p in pairs])


def _score(flicker_excess: float) -> float:
    """The documented mapping (see ``_SCORE_CENTER``) from the clip's flicker excess to a suspicion in [0, 1]."""
    z = (flicker_excess - _SCORE_CENTER) / _SCORE_SCALE
    return float(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))))


def _flicker_findings(features: dict[str, float], score: float) -> list[Finding]:
    findings = []
    flicker = f"coarse-band flicker {features['flicker_coarse']:.4f} at {features['motion_px']:.2f} px median motion"
    if features["motion_px"] < _STATIC_MOTION_PX:
        findings.append(
            Finding(
                "temporal.static_shot",
                "Static shot: little motion to compensate, so flicker is measured almost pixel to pixel.",
                Severity.INFO,
            )
        )
    if score >= 0.65:
        findings.append(
            Finding(
                "temporal.texture_flicker",
                f"Texture changes from frame to frame where motion does not explain it ({flicker}): "
                "typical of frame-by-frame img2img stylization.",
                Severity.HIGH if score >= 0.9 else Severity.MEDIUM,
                "synthetic",
            )
        )
    elif score <= 0.35:
        findings.append(
            Finding(
                "temporal.texture_coherent",
                f"Texture moves with the scene ({flicker}), as in camera footage.",
                Severity.LOW,
                "authentic",
            )
        )
    else:
        findings.append(
            Finding(
                "temporal.texture_flicker_uncertain",
                f"Some texture flicker not explained by motion ({flicker}); "
                "non-rigid scenes (water, foliage, smoke) and overlays also do this.",
                Severity.LOW,
            )
        )
    return findings


def _time_plots(measured: list[tuple[_Sample, PairMeasure]]) -> list[LinePlot]:
    times = [round(s.time_s, 4) for s, _ in measured]
    over_time = LinePlot(
        name="temporal_flicker",
        title="Texture flicker over time",
        caption="Per frame: band-passed texture energy that motion does not explain, relative to the frame's own "
        "texture energy (0 = all explained; about 2 = unrelated texture).",
        x=times,
        series={band: [p.flicker[band] for _, p in measured] for band in BANDS},
        xlabel="time (s)",
        ylabel="flicker ratio",
        log_y=True,
    )
    series = _log_series([p for _, p in measured])
    power = np.abs(np.fft.rfft(series - series.mean())) ** 2
    spectrum = LinePlot(
        name="temporal_flicker_spectrum",
        title="Temporal spectrum of the flicker",
        caption="Power of the (log) coarse-band flicker series by temporal frequency: a flat spectrum is flicker "
        "independent from frame to frame, a peak at 0.5 an alternation (e.g. encoder frame quality).",
        x=np.fft.rfftfreq(len(series)).round(4).tolist()[1:],
        series={"coarse": power[1:].tolist()},
        xlabel="cycles per frame pair",
        ylabel="power",
        log_y=True,
    )
    return [over_time, spectrum]
