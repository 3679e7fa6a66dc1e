"""The `omnisync` command line."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from typer.core import TyperGroup

from omnisync.hub.commands import (
    alerts,
    amazon,  # noqa: F401  (registers `channels amazon-subscribe` on channels_app)
    catalog,
    ebay,  # noqa: F401  (registers `channels ebay-install` on channels_app)
    listings,
    orders,
    pick,
    quarantine,
    report,
    returns,
    skus,
    stock,
    users,
)
from omnisync.hub.commands.check import check
from omnisync.hub.commands.common import (
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CliState,
    JsonOption,
    console,
    errors,
    fail,
    open_hub,
    print_json,
    state,
)
from omnisync.hub.commands.database_errors import DATABASE_ERRORS, describe_database_failure
from omnisync.hub.commands.pack import pack
from omnisync.hub.commands.status import status
from omnisync.hub.commands.sync import sync
from omnisync.hub.demo.watch import DEFAULT_TIMEOUT_S, DemoFailed
from omnisync.hub.logs import LogFormat, LogLevel, configure_logging, set_log_level

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config"

EXIT_CODES = (
    "Exit codes: 0 success; 1 a failed operation (for `status`: an alert is open); "
    "2 bad usage or bad configuration; 3 the database could not be reached or failed "
    "(for `status`: nothing could be checked)."
)


class OmnisyncGroup(TyperGroup):
    """Whatever the command, a database that cannot be reached or fails is one line on
    stderr (where the database is and what failed, no password) and exit code 3."""

    def invoke(self, ctx: Any) -> Any:  # click's Context (recent typer vendors click)
        try:
            return super().invoke(ctx)
        except DATABASE_ERRORS as error:
            url = ctx.obj.database_url if isinstance(ctx.obj, CliState) else None
            message = f"error: {describe_database_failure(error, url)}"
            errors.print(message, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_UNAVAILABLE) from None


app = typer.Typer(
    name="omnisync",
    cls=OmnisyncGroup,
    help="Multichannel order and stock hub.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(skus.app, name="skus")
app.add_typer(stock.app, name="stock")
app.add_typer(orders.orders_app, name="orders")
app.add_typer(orders.channels_app, name="channels")
app.add_typer(returns.app, name="returns")
app.add_typer(report.app, name="report")
app.add_typer(listings.app, name="listings")
app.add_typer(catalog.app, name="catalog")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(alerts.app, name="alerts")
app.add_typer(pick.app, name="pick")
app.add_typer(users.app, name="users")
app.command("sync")(sync)
app.command("check")(check)
app.command("status")(status)
app.command("pack")(pack)


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
    hub = open_hub(ctx, every_channel=True)  # a channel left out would go unserved
    from omnisync.hub.runner import HttpUnavailable, HubRunner  # the HTTP server and scheduler

    runner = HubRunner(hub)
    runner.install_signal_handlers()
    try:
        runner.run()
    except HttpUnavailable as error:
        errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
def worker(
    ctx: typer.Context,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            help="Take only these marketplaces' tasks (repeat, or comma-separate: "
            "--queues amazon,ebay); the periodic ticks are always taken. Default: all.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Tasks this worker runs at once.")
    ] = 4,
    log_level: Annotated[LogLevel, typer.Option(case_sensitive=False)] = LogLevel.INFO,
    metrics_port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            help="Serve this worker's task durations and failures on "
            "http://HOST:PORT/metrics (Prometheus). Default 0: off.",
        ),
    ] = 0,
    metrics_host: Annotated[
        str, typer.Option(help="Where --metrics-port listens (0.0.0.0 in a container).")
    ] = "127.0.0.1",
) -> None:
    """Run channel jobs as tasks from the PostgreSQL queue (hub.yaml `runner: procrastinate`).

    Start any number, on any machine reaching the database; `omnisync run` serves HTTP and
    webhooks beside them. SIGTERM or SIGINT finishes the tasks in flight, then exits 0.
    """
    set_log_level(log_level)
    # Each running task holds a connection for its run's advisory lock, and uses another.
    hub = open_hub(ctx, every_channel=True, pool_size=2 * concurrency + 4)
    if hub.targets is None:
        hub.engine.dispose()
        fail(
            f"{state(ctx).config_dir / 'hub.yaml'}: runner: is `single`, so `omnisync run` runs "
            "every job itself; set `runner: procrastinate` (PostgreSQL) to use workers",
            code=EXIT_USAGE,
        )
    from omnisync.hub.worker import (  # procrastinate: only workers
        MetricsUnavailable,
        Worker,
        WorkerOptions,
    )

    chosen = tuple(q.strip() for item in queues or [] for q in item.split(",") if q.strip())
    options = WorkerOptions(
        queues=chosen,
        concurrency=concurrency,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    try:
        Worker(hub, options).run()
    except MetricsUnavailable as error:
        fail(str(error), code=EXIT_USAGE)


DEMO_REPORT = Path("var") / "demo-report.json"


@app.command()
def demo(
    duration: Annotated[float, typer.Option(min=1, help="Seconds of simulated buying.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the simulated catalogue and buyers.")] = 1,
    channels: Annotated[int, typer.Option(min=2, max=8, help="Simulated marketplaces.")] = 4,
    json_output: JsonOption = False,
    report: Annotated[
        Path, typer.Option(help="Where the JSON report is written (folders made as needed).")
    ] = DEMO_REPORT,
    timeout: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds any one wait may last (a sync run at the end, a channel failing "
            "while buyers buy, the last parcels); past it the demo fails (exit code 1).",
        ),
    ] = DEFAULT_TIMEOUT_S,
    fault: Annotated[
        str | None,
        typer.Option(
            metavar="CHANNEL:KIND",
            help="Once the buyers stop, the marketplace CHANNEL answers every call with the "
            "fault KIND (500, 503, 429, timeout, slow, malformed_json): see the demo fail.",
        ),
    ] = None,
) -> None:
    """Run the hub against simulated marketplaces with simulated buyers, then compare."""
    set_log_level(LogLevel.WARNING if json_output else LogLevel.ERROR)
    from omnisync.hub.demo.run import (  # only `demo` simulates
        Demo,
        DemoOptions,
        parse_fault,
        write_report,
    )

    try:
        chosen = parse_fault(fault, channels) if fault is not None else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--fault") from None
    options = DemoOptions(
        duration=duration, seed=seed, channels=channels, timeout=timeout, fault=chosen
    )
    try:
        result = Demo(options, None if json_output else console).run()
    except DemoFailed as failure:
        errors.print(f"demo failed: {failure}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    written = write_report(result, report)
    if json_output:
        print_json(result)
        errors.print(f"report written to {written}", markup=False, highlight=False, soft_wrap=True)
        return
    lag, shipping = result["propagation_ms"], result["shipping"]
    from_sale = ", ".join(
        f"{name} p95 {figures['p95']:.0f} ms" for name, figures in result["from_sale_ms"].items()
    )
    console.print(
        f"{result['orders_total']} orders on {len(result['channels'])} marketplaces in "
        f"{result['duration_s']:.0f}s: {result['orders_lost']} lost, "
        f"{result['orders_duplicated']} duplicated, {result['oversold_units']} unit(s) oversold, "
        f"{result['mismatched_listings']} listing(s) differing after the final reconcile.\n"
        f"Stock change to marketplace: p50 {lag['p50']:.0f} ms, p95 {lag['p95']:.0f} ms, "
        f"max {lag['max']:.0f} ms over {lag['samples']} pushes.\n"
        f"Sale to every other marketplace: {from_sale}.\n"
        f"Shipped {shipping['parcels']} parcel(s) with {shipping['carrier']} for "
        f"{shipping['orders_shipped']} order(s): {shipping['fulfilments_pushed']} fulfilment(s) "
        f"pushed, {shipping['delivered']} delivered, {shipping['orders_delivered']} order(s) "
        "delivered.",
        markup=False,
        highlight=False,
    )
    console.print(f"Report written to {written}", markup=False, highlight=False, soft_wrap=True)


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
