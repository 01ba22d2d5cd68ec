"""The `louyu` command: a thin face over the package.

Each domain registers its commands from its own module (`register(app)`), so the CLI reads
like the package: log, replay, simulate, indicators, report, intake, export. Exit codes: 0 fine, 1 findings
(verify found problems, a batch was rejected), 2 usage (bad arguments or settings).
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from louyu_research import __version__

app = typer.Typer(
    name="louyu",
    help="louyu-research: the building economy (楼宇经济) from an append-only event log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"louyu-research {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """louyu-research: the building economy (楼宇经济) from an append-only event log."""


for _module in ("log", "replay", "simulate", "indicators", "report", "notice", "intake", "export"):
    importlib.import_module(f"{__name__}.{_module}").register(app)


def main() -> None:
    from .common import run

    run(app)
