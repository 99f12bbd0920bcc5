"""`agnostream providers`: each model provider's configuration status, from the provider registry.

    agnostream providers             a table: provider, status, default model, endpoint, embeddings
    agnostream providers --json      the same as JSON (`registry.provider_status`)
    agnostream providers --markdown  the support matrix as Markdown (regenerates docs/support-matrix.md)

Nothing is contacted: "configured" means the key is set, not that the provider accepts it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:  # the provider registry imports every provider client: loaded when the command runs
    from rich.console import Console

    from .settings import ProviderKeys

__all__ = ["add_parser", "providers"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `providers` subcommand to the CLI's subparsers."""
    parser = sub.add_parser("providers", help="show each model provider's status (configured / missing key)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the status as JSON")
    output.add_argument("--markdown", action="store_true", help="print the support matrix (docs/support-matrix.md)")


def providers(args: argparse.Namespace, keys: ProviderKeys, console: Console | None = None) -> int:
    """Print the providers' status (or the matrix with `--markdown`); always returns exit code 0."""
    from rich.console import Console
    from rich.table import Table

    from .models.registry import provider_status
    from .models.support_matrix import render_support_matrix_markdown

    console = console or Console(highlight=False)
    if args.markdown:
        console.out(render_support_matrix_markdown(), end="", highlight=False)
        return 0
    rows = provider_status(keys)
    if args.json:
        console.out(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode(), highlight=False)
        return 0
    table = Table(title="Model providers", title_justify="left")
    for column in ("provider", "status", "default model", "endpoint", "embeddings"):
        table.add_column(column, overflow="fold")  # fold, never cut: variable names must stay whole
    for row in rows:
        style = "green" if row["configured"] else "yellow"
        status = f"[{style}]{row['status']}[/{style}]"
        embeddings = "yes" if row["embeddings"] else "no"
        table.add_row(row["label"], status, row["default_model"], row["endpoint"], embeddings)
    console.print(table)
    configured = sum(1 for row in rows if row["configured"])
    console.print(f"{configured} of {len(rows)} configured; a missing key disables only that provider (.env.example).")
    return 0
