from omnisync.core.redaction import redact


def test_every_secret_is_masked_longest_first() -> None:
    text = "token=abcd1234 and again abcd1234, prefix abcd"
    assert redact(text, ["abcd1234", "abcd"]) == "token=*** and again ***, prefix ***"


def test_very_short_values_are_not_treated_as_secrets() -> None:
    assert redact("a b c", ["a", ""]) == "a b c"
