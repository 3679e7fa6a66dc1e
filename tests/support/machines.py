"""Hypothesis state machines over a real database, run on SQLite and on PostgreSQL.

A machine subclasses `DatabaseMachine`: every example starts on an empty database with
every table, so no example sees rows of the one before (a shrunk example must fail the
same way). SQLite gets a new file per example; PostgreSQL gets this test process's own
schema, made once (creating the tables for every example would be slow) and truncated
for each. Whatever a machine does, the books must stay right: the ledger invariants
(tests/support/world.py) are checked after every step, next to the machine's own.
`cases_per_backend` turns a machine into its two TestCases, both marked slow, the
PostgreSQL one skipped when OMNISYNC_TEST_POSTGRES_URL is not set.
"""

from __future__ import annotations

from typing import ClassVar
from unittest import TestCase

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant
from sqlmodel import Session

from tests.support.databases import (
    POSTGRES_SCHEMA,
    POSTGRES_URL,
    SQLITE_FILES,
    PostgresSchema,
    SQLiteFiles,
)
from tests.support.world import check_ledger_invariants


class DatabaseMachine(RuleBasedStateMachine):
    """`self.engine` is an empty database of the subclass's `backend`, disposed at the end
    of the example."""

    backend: ClassVar[SQLiteFiles | PostgresSchema]

    def __init__(self) -> None:
        super().__init__()
        self.engine = self.backend.open()

    def teardown(self) -> None:
        self.engine.dispose()

    @invariant()
    def ledger_and_reservations_agree(self) -> None:
        with Session(self.engine) as session:
            check_ledger_invariants(session)


def cases_per_backend(
    machine: type[DatabaseMachine], *, max_examples: int, steps: int
) -> tuple[type[TestCase], type[TestCase]]:
    """The machine's TestCase on SQLite and on PostgreSQL, each running `max_examples`
    examples of up to `steps` steps (no deadline: a step writes to a real database)."""
    stateful = settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    on_postgres = [
        pytest.mark.postgres,
        pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
    ]
    backends: list[tuple[SQLiteFiles | PostgresSchema, list[pytest.MarkDecorator]]] = [
        (SQLITE_FILES, []),
        (POSTGRES_SCHEMA, on_postgres),
    ]
    cases = []
    for backend, marks in backends:
        bound: type[DatabaseMachine] = type(
            f"{backend.name}{machine.__name__}", (machine,), {"backend": backend}
        )
        case: type[TestCase] = bound.TestCase
        case.settings = stateful  # type: ignore[attr-defined]
        for mark in (pytest.mark.slow, *marks):
            case = mark(case)
        cases.append(case)
    sqlite_case, postgres_case = cases
    return sqlite_case, postgres_case
