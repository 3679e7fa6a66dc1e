"""What the commands that resolve rows by hand share (`quarantine retry|resolve`,
`alerts resolve`): who resolves (`--by`, by default the OS user), why (`--note`),
and how a resolved row reads."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from omnisync.hub.views.shapes import AlertOut, QuarantineOut

ByOption = Annotated[
    str | None, typer.Option("--by", help="Who resolves it (default: the OS user).")
]


def operator_name() -> str:
    """Who runs the command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and no passwd entry
        return "unknown"


def who_resolves(by: str | None) -> str:
    """`--by`, else the OS user."""
    return by or operator_name()


def resolution_text(row: AlertOut | QuarantineOut, *, unnamed: str = "unknown") -> str:
    """ "resolved by NAME at TIME: NOTE" of a row's resolved_* keys; "" while it is open.
    `unnamed` stands for a resolution without `resolved_by`."""
    if not row.resolved_at:
        return ""
    note = f": {row.resolution_note}" if row.resolution_note else ""
    return f"resolved by {row.resolved_by or unnamed} at {row.resolved_at}{note}"
