"""The ``--analyzers`` option that ``scan`` and ``audit`` share."""

from __future__ import annotations

import click

from forensics.analyzers import registry


def analyzer_list(_ctx: click.Context | None, _param: click.Parameter | None, value: str | None) -> list[str]:
    """Analyzer names from ``a,b,c`` or ``all``; none given: :func:`registry.default_names`."""
    if not value:
        return registry.default_names()
    if value.strip() == "all":
        return registry.names()
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("no analyzer named")
    unknown = [n for n in names if n not in registry.names()]
    if unknown:
        raise click.BadParameter(f"unknown analyzer(s) {', '.join(unknown)}; known: {', '.join(registry.names())}")
    return names


def analyzers_option(command: click.Command) -> click.Command:
    """``--analyzers/-a``, parsed by :func:`analyzer_list` into the command's ``analyzers`` argument."""
    return click.option(
        "--analyzers", "-a", callback=analyzer_list,
        help="Comma-separated analyzers to run, or 'all' (default: all but the slow ones no shipped model reads, "
             "such as reconstruction). See 'forensics scan --list-analyzers'.")(command)
