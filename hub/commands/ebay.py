"""`omnisync channels ebay-install`: the seller's consent to the app, as a refresh token."""

from __future__ import annotations

from typing import Annotated

import typer

from omnisync.connectors.base import ConnectorError
from omnisync.connectors.ebay.install import code_from_callback, consent_url, exchange_code
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.core.redaction import redact
from omnisync.hub.commands.common import EXIT_USAGE, console, fail, load_cli_settings
from omnisync.hub.commands.orders import channels_app


@channels_app.command("ebay-install")
def ebay_install(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="A channel of type ebay.")],
    callback: Annotated[
        str | None,
        typer.Option(help="The full URL eBay redirected to after the consent (with code)."),
    ] = None,
    code: Annotated[
        str | None, typer.Option(help="The consent's code alone, instead of --callback.")
    ] = None,
) -> None:
    """Print the URL where the seller grants the app access; with --callback (or --code),
    exchange the consent's code for a refresh token, printed once for you to store in the
    variable the channel file names (never logged). The code is valid for five minutes."""
    settings = load_cli_settings(ctx, channel=channel)
    config = next((c for c in settings.channels if c.name == channel), None)
    if config is None or not isinstance(config.settings, EbaySettings):
        fail(f"no channel {channel!r} of type ebay in the configuration", EXIT_USAGE)
    if not config.settings.ru_name:
        fail(
            f"channel {channel!r} names no ru_name: add the app's RuName (eBay's name for its "
            f"redirect URL, on developer.ebay.com under the keyset's User Tokens) to "
            f"{config.source}",
            EXIT_USAGE,
        )
    if callback is not None and code is not None:
        fail("give --callback or --code, not both", EXIT_USAGE)
    if callback is None and code is None:
        url, state = consent_url(config.settings)
        _print(url)
        _print(f"state: {state} (check it against the callback's state)")
        return
    try:
        consent = code if code is not None else code_from_callback(callback or "")
        refresh_token = exchange_code(config.settings, consent)
    except ConnectorError as error:
        fail(redact(f"{type(error).__name__}: {error}", settings.secrets))
    _print(
        "refresh token (shown once; store it in the variable your channel file names, "
        f"credentials.refresh_token):\n{refresh_token}"
    )


def _print(text: str) -> None:
    """One line as it is: no markup, and never wrapped (a URL or a token is copied whole)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)
