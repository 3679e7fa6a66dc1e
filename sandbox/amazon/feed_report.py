"""Processing a JSON_LISTINGS_FEED document into changes and a processing report.

The document must be UTF-8 JSON of at most 10 MiB, hold at most 25,000 messages and
validate against Amazon's ``listings-feed-schema-v2.json``, for the seller the feed
belongs to; otherwise the feed is FATAL, nothing is applied, and the report says why.
Else each message is applied on its own (PATCH, PARTIAL_UPDATE, UPDATE, DELETE) with
the patch rules of :class:`~sandbox.amazon.listings.Catalogue`; an invalid message
changes nothing and puts its issues, with its ``messageId`` and ``sku``, in the
report. The report follows ``listings-feed-processing-report-schema-v2.json``:
``header``, ``issues``, ``summary`` and, when the feed's header asks for
``report.includedData``, the ``items`` touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from omnisync.sandbox.amazon.http import JSON
from omnisync.sandbox.amazon.listings import Catalogue
from omnisync.sandbox.reference import amazon_schema

FEED_SCHEMA: Final = "listings-feed-schema-v2.json"
REPORT_SCHEMA: Final = "listings-feed-processing-report-schema-v2.json"
MAX_MESSAGES: Final = 25_000
MAX_BYTES: Final = 10 * 1024 * 1024
MAX_REPORTED_SCHEMA_ERRORS: Final = 100
DONE: Final = "DONE"
FATAL: Final = "FATAL"


@cache
def feed_validator() -> Draft7Validator:
    return Draft7Validator(amazon_schema(FEED_SCHEMA))


@cache
def report_validator() -> Draft7Validator:
    return Draft7Validator(amazon_schema(REPORT_SCHEMA))


@dataclass(frozen=True)
class FeedOutcome:
    status: str
    """DONE or FATAL."""
    report: JSON


def process_listings_feed(
    content: bytes | None, *, feed_id: str, seller_id: str, catalogue: Catalogue
) -> FeedOutcome:
    """Check and apply one JSON_LISTINGS_FEED document; the outcome and its report."""
    header: JSON = {"sellerId": seller_id, "version": "2.0", "feedId": feed_id}
    document, problem = _parse(content)
    if problem is not None:
        return _fatal(header, [_feed_issue(problem)])
    assert isinstance(document, dict)
    messages = document.get("messages")
    if isinstance(messages, list) and len(messages) > MAX_MESSAGES:
        return _fatal(
            header,
            [
                _feed_issue(
                    f"The feed has {len(messages)} messages; at most {MAX_MESSAGES} are allowed."
                )
            ],
        )
    errors = sorted(feed_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        return _fatal(header, _schema_issues(errors, messages))
    feed_header = document["header"]
    if feed_header["sellerId"] != seller_id:
        given = feed_header["sellerId"]
        problem = f"The feed's sellerId '{given}' does not match the seller {seller_id}."
        return _fatal(header, [_feed_issue(problem)])
    requested = feed_header.get("report")
    if requested is not None:
        header["report"] = requested
    return _apply(header, document["messages"], catalogue, requested)


def _parse(content: bytes | None) -> tuple[Any, str | None]:
    if not content:
        return None, "The feed document is empty: nothing was uploaded to its URL."
    if len(content) > MAX_BYTES:
        return (
            None,
            f"The feed document is {len(content)} bytes; at most {MAX_BYTES} (10 MiB) are allowed.",
        )
    try:
        document = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "The feed document is not UTF-8 text."
    except ValueError as error:
        return None, f"The feed document is not valid JSON: {error}."
    if not isinstance(document, dict):
        return None, "The feed document must be a JSON object with a header and messages."
    return document, None


def _apply(header: JSON, messages: list[JSON], catalogue: Catalogue, requested: Any) -> FeedOutcome:
    issues: list[JSON] = []
    touched: list[str] = []
    accepted = invalid = 0
    for message in messages:
        found = _apply_message(message, catalogue)
        if found:
            invalid += 1
            issues.extend(
                {
                    "messageId": message["messageId"],
                    "sku": message["sku"],
                    "code": item["code"],
                    "severity": item["severity"],
                    "message": item["message"],
                    **(
                        {"attributeName": item["attributeNames"][0]}
                        if item["attributeNames"]
                        else {}
                    ),
                }
                for item in found
            )
            continue
        accepted += 1
        if message["operationType"] != "DELETE":
            touched.append(message["sku"])
    summary: JSON = {
        "errors": sum(1 for item in issues if item["severity"] == "ERROR"),
        "warnings": sum(1 for item in issues if item["severity"] == "WARNING"),
        "messagesProcessed": len(messages),
        "messagesAccepted": accepted,
        "messagesInvalid": invalid,
    }
    report: JSON = {"header": header, "issues": issues, "summary": summary}
    if isinstance(requested, dict):
        included = requested.get("includedData", [])
        items = [
            catalogue.item_json(catalogue.listings[sku], included)
            for sku in dict.fromkeys(touched)
            if sku in catalogue.listings
        ]
        item_issues = [entry for item in items for entry in item.get("issues", [])]
        summary["itemSummary"] = {
            "items": len(items),
            "errors": sum(1 for entry in item_issues if entry.get("severity") == "ERROR"),
            "warnings": sum(1 for entry in item_issues if entry.get("severity") == "WARNING"),
        }
        report["items"] = items
    return FeedOutcome(DONE, report)


def _apply_message(message: Mapping[str, Any], catalogue: Catalogue) -> list[JSON]:
    """Apply one schema-valid message; the issues that stopped it (empty: applied)."""
    sku, operation = message["sku"], message["operationType"]
    if operation == "DELETE":
        if sku not in catalogue.listings:
            return catalogue.check_patch(sku, "", [])
        catalogue.remove(sku)
        return []
    product_type = message["productType"]
    if operation == "PATCH":
        patches = message["patches"]
    else:
        patches = [
            {"op": "replace", "path": f"/attributes/{name}", "value": value}
            for name, value in message["attributes"].items()
        ]
    found = catalogue.check_patch(sku, product_type, patches)
    if found:
        return found
    if operation == "PATCH":
        catalogue.apply_patch(sku, patches)
    else:
        catalogue.replace_attributes(
            sku, message["attributes"], partial=operation == "PARTIAL_UPDATE"
        )
    return []


def _fatal(header: JSON, issues: list[JSON]) -> FeedOutcome:
    summary = {
        "errors": len(issues),
        "warnings": 0,
        "messagesProcessed": 0,
        "messagesAccepted": 0,
        "messagesInvalid": 0,
    }
    return FeedOutcome(FATAL, {"header": header, "issues": issues, "summary": summary})


def _feed_issue(message: str, message_id: int | None = None, sku: str | None = None) -> JSON:
    issue: JSON = {"code": "FATAL_FEED", "severity": "ERROR", "message": message}
    if message_id is not None:
        issue["messageId"] = message_id
    if sku:
        issue["sku"] = sku
    return issue


def _schema_issues(errors: Iterable[ValidationError], messages: Any) -> list[JSON]:
    issues: list[JSON] = []
    for error in errors:
        if len(issues) == MAX_REPORTED_SCHEMA_ERRORS:
            break
        path = list(error.absolute_path)
        where = "/" + "/".join(str(part) for part in path)
        message_id, sku = None, None
        if len(path) >= 2 and path[0] == "messages" and isinstance(messages, list):
            message = messages[int(path[1])]
            if isinstance(message, dict):
                candidate = message.get("messageId")
                if (
                    isinstance(candidate, int)
                    and not isinstance(candidate, bool)
                    and candidate >= 1
                ):
                    message_id = candidate
                if isinstance(message.get("sku"), str):
                    sku = message["sku"]
        text = f"The feed does not match the JSON_LISTINGS_FEED schema at {where}: {error.message}"
        issues.append(_feed_issue(text, message_id, sku))
    return issues
