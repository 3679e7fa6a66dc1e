"""Token endpoints shared by the simulators (Login with Amazon, the carriers' OAuth)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl


def token_form(raw: bytes, content_type: str) -> dict[str, str]:
    """The token request's fields: a form, as LWA documents it, or a JSON object."""
    text = raw.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            loaded = json.loads(text)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))
