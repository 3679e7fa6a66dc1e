"""SKU codes a new SKU may have (core/catalog.py), and the Shopify cancel reason an
operator's words name (connectors/shopify/mapping.py)."""

from __future__ import annotations

import pytest

from omnisync.connectors.shopify.mapping import cancel_errors, cancel_reason
from omnisync.core.catalog import SKU_CODE_MAX_LENGTH, sku_code_problem, validate_sku_code
from omnisync.core.errors import InvalidRequest


@pytest.mark.parametrize(
    "code",
    ["A", "SKU-001", "mug_blue.L", "KIT/2+1", "EAN:4006381333931", "#12", "Ärmel-ß", "x" * 100],
)
def test_codes_of_letters_digits_and_the_allowed_punctuation_pass(code: str) -> None:
    assert sku_code_problem(code) is None
    assert validate_sku_code(code) == code


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("", "must not be empty"),
        ("MUG BLUE", "whitespace (SPACE) at position 4"),
        ("MUG\tBLUE", "whitespace"),
        ("MUG\u00a0BLUE", "whitespace (NO-BREAK SPACE)"),
        ("MUG\x00", "a control character (U+0000) at position 4"),
        ("MUG\u200b", "a control character (U+200B)"),
        ("MUG,BLUE", "',', which is not allowed"),
        ("MUG*", "'*', which is not allowed"),
        ("x" * (SKU_CODE_MAX_LENGTH + 1), f"is {SKU_CODE_MAX_LENGTH + 1} characters long"),
    ],
)
def test_codes_with_whitespace_controls_odd_punctuation_or_too_long_are_refused(
    code: str, problem: str
) -> None:
    found = sku_code_problem(code)
    assert found is not None
    assert problem in found
    with pytest.raises(InvalidRequest, match="SKU code"):
        validate_sku_code(code)


def test_the_rule_is_named_in_the_refusal() -> None:
    found = sku_code_problem("A B")
    assert found is not None
    assert "letters, digits and - _ . / : # +" in found


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (None, "OTHER"),
        ("", "OTHER"),
        ("fraud review failed", "FRAUD"),
        ("Customer changed their mind.", "CUSTOMER"),
        ("out of inventory", "INVENTORY"),
        ("payment declined", "DECLINED"),
        ("wrong address", "OTHER"),
    ],
)
def test_an_operators_reason_names_a_shopify_cancel_reason(words: str | None, reason: str) -> None:
    assert cancel_reason(words) == reason


def test_cancel_user_errors_come_back_in_one_line() -> None:
    assert cancel_errors({"orderCancelUserErrors": []}) is None
    assert cancel_errors(None) is None
    errors = [{"code": "INVALID", "message": "Cannot cancel"}, {"code": "NOT_FOUND"}]
    assert cancel_errors({"orderCancelUserErrors": errors}) == "Cannot cancel; NOT_FOUND"
