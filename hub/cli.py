"""The `omnisync` command line."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from hub.commands import orders, skus, stock
from hub.commands.check import check
from hub.commands.common import (
    CliState,
    JsonOption,
    console,
    fail,
    open_hub,
    print_json,
    state,
)
from hub.commands.status import status
from hub.commands.sync import sync
from hub.logs import LogFormat, LogLevel, configure_logging, set_log_level

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config"

app = typer.Typer(
    name="omnisync",
    help="Multichannel order and stock hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(skus.app, name="skus")
app.add_typer(stock.app, name="stock")
app.add_typer(orders.orders_app, name="orders")
app.add_typer(orders.channels_app, name="channels")
app.command("sync")(sync)
app.command("check")(check)
app.command("status")(status)


@app.callback()
def root(
    ctx: typer.Context,
    config_dir: Annotated[
        Path,
        typer.Option(
            "--config-dir",
            envvar="OMNISYNC_CONFIG_DIR",
            help="Folder with hub.yaml and channels/.",
        ),
    ] = Path("config"),
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            envvar="OMNISYNC_LOG_FORMAT",
            help="Log lines on stderr as text or as JSON objects.",
        ),
    ] = LogFormat.TEXT,
) -> None:
    # Every command, not only `run`: a warning or traceback of any of them is
    # formatted the same way and has the configured secrets masked.
    configure_logging(LogLevel.WARNING, log_format)
    ctx.obj = CliState(config_dir=config_dir)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database; write the example config if the folder is missing."""
    config_dir = state(ctx).config_dir
    if not config_dir.exists():
        if not EXAMPLE_CONFIG.is_dir():
            fail(f"{config_dir} does not exist and the example config is not installed")
        shutil.copytree(EXAMPLE_CONFIG, config_dir)
        console.print(f"wrote the example config to {config_dir}", markup=False, highlight=False)
    hub = open_hub(ctx, create=True)
    url = make_url(hub.settings.database_url).render_as_string(hide_password=True)
    hub.engine.dispose()
    console.print(f"database ready: {url}", markup=False, highlight=False)


@app.command()
def run(
    ctx: typer.Context,
    log_level: Annotated[LogLevel, typer.Option(case_sensitive=False)] = LogLevel.INFO,
) -> None:
    """Run the hub: scheduled syncs, stock pushes within a second of every change.

    SIGHUP (or editing config/channels/) reloads the channels; SIGTERM stops cleanly.
    """
    set_log_level(log_level)
    hub = open_hub(ctx)
    from hub.runner import HubRunner  # the HTTP server and scheduler: only `run` needs them

    runner = HubRunner(hub)
    runner.install_signal_handlers()
    runner.run()


@app.command()
def demo(
    duration: Annotated[float, typer.Option(min=1, help="Seconds of simulated buying.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the simulated catalogue and buyers.")] = 1,
    channels: Annotated[int, typer.Option(min=2, max=8, help="Simulated marketplaces.")] = 3,
    json_output: JsonOption = False,
) -> None:
    """Run the hub against simulated marketplaces with simulated buyers, then compare."""
    set_log_level(LogLevel.WARNING if json_output else LogLevel.ERROR)
    from hub.demo import Demo, DemoOptions  # the simulators: only `demo` needs them

    options = DemoOptions(duration=duration, seed=seed, channels=channels)
    result = Demo(options, None if json_output else console).run()
    if json_output:
        print_json(result)
        return
    lag, shipping = result["propagation_ms"], result["shipping"]
    console.print(
        f"{result['orders_total']} orders on {len(result['channels'])} marketplaces in "
        f"{result['duration_s']:.0f}s: {result['orders_lost']} lost, "
        f"{result['orders_duplicated']} duplicated, {result['oversold_units']} unit(s) oversold, "
        f"{result['mismatched_listings']} listing(s) differing after the final reconcile.\n"
        f"Stock change to marketplace: p50 {lag['p50']:.0f} ms, p95 {lag['p95']:.0f} ms, "
        f"max {lag['max']:.0f} ms over {lag['samples']} pushes.\n"
        f"Shipped {shipping['parcels']} parcel(s) with {shipping['carrier']} for "
        f"{shipping['orders_shipped']} order(s): {shipping['fulfilments_pushed']} fulfilment(s) "
        f"pushed, {shipping['delivered']} delivered, {shipping['orders_delivered']} order(s) "
        f"delivered. (--json for all of it)",
        markup=False,
        highlight=False,
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception:
        # Through the log handler rather than Python's own hook: secrets masked in the traceback.
        logging.getLogger("omnisync").exception("unexpected failure")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
