"""Column factories: each call returns a fresh Column (SQLAlchemy columns cannot be shared)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlalchemy.dialects.postgresql import JSONB

from omnisync.core.types import EnumText, Money, UTCDateTime

JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def money_column(*, nullable: bool = True) -> Any:
    return Column(Money(), nullable=nullable)


def enum_column(
    enum_type: type[StrEnum],
    *,
    index: bool = False,
    nullable: bool = False,
    server_default: StrEnum | None = None,
) -> Any:
    """`server_default`: the value rows written without the column get (rows that were
    there before it, and inserts that name only some columns)."""
    default = None if server_default is None else server_default.value
    return Column(EnumText(enum_type), nullable=nullable, index=index, server_default=default)


def json_column(*, nullable: bool = True) -> Any:
    return Column(JSON_DOCUMENT, nullable=nullable)


def text_column(*, nullable: bool = True) -> Any:
    return Column(Text(), nullable=nullable)
