"""The `omnisync` command line."""

from __future__ import annotations

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
from hub.commands.sync import sync
from hub.demo import Demo, DemoOptions
from hub.logs import configure_logging
from hub.runner import HubRunner

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
) -> None:
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
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Run the hub: scheduled syncs, stock pushes within a second of every change.

    SIGHUP (or editing config/channels/) reloads the channels; SIGTERM stops cleanly.
    """
    configure_logging(log_level)
    hub = open_hub(ctx)
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
    configure_logging("WARNING" if json_output else "ERROR")
    options = DemoOptions(duration=duration, seed=seed, channels=channels)
    result = Demo(options, None if json_output else console).run()
    if json_output:
        print_json(result)
        return
    lag = result["propagation_ms"]
    console.print(
        f"{result['orders_total']} orders on {len(result['channels'])} marketplaces in "
        f"{result['duration_s']:.0f}s: {result['orders_lost']} lost, "
        f"{result['orders_duplicated']} duplicated, {result['oversold_units']} unit(s) oversold, "
        f"{result['mismatched_listings']} listing(s) differing after the final reconcile.\n"
        f"Stock change to marketplace: p50 {lag['p50']:.0f} ms, p95 {lag['p95']:.0f} ms, "
        f"max {lag['max']:.0f} ms over {lag['samples']} pushes. (--json for all of it)",
        markup=False,
        highlight=False,
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
