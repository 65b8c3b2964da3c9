"""Forensics suite for diffusion img2img edits: analyzers, calibrated verdicts, reports."""

__version__ = "0.1.0"
