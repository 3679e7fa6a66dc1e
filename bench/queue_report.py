"""b7_workers' section of docs/benchmarks.md, rendered from its stored figures."""

from __future__ import annotations

from typing import Any

from bench.report_lines import describe_machine, paragraph, run_line

P95_TARGET_S = 2.0
SPEED_UP_TARGET = 3.0
DRAIN_BOUND_S = 119.9
"""bench/queue_scale.SETTLE_S, less the polling's slack."""
CONFIG_NAMES = {"single": "single process (`runner: single`)"}


def _name(label: str) -> str:
    if label in CONFIG_NAMES:
        return CONFIG_NAMES[label]
    count = int(label[1:])
    return f"{count} worker{'s' if count > 1 else ''}"


def workers_section(measure: dict[str, Any]) -> list[str]:
    configs: dict[str, dict[str, Any]] = measure.get("configs") or {}
    machine = (measure.get("run") or {}).get("machine")
    lines = [
        f"## b7_workers: runner `procrastinate` at {measure.get('channels', 0):,} channels, "
        "1 to 4 workers against the single process",
        "",
        run_line(measure),
    ]
    if machine:
        lines += [f"Machine: {describe_machine(machine)}."]
    lines += [
        "",
        *paragraph(
            "`python -m bench.queue_scale` (bench/queue_scale.py, bench/queue_server.py).",
            f"{measure.get('channels', 0):,} `type: sandbox` channel files, each pointing at",
            "its own path of one loopback channel server that waits 30-100 ms per request,",
            "gives each channel a quota of 4 requests/s (burst 8; 429 with Retry-After",
            "beyond) and answers 503 to 1% of the requests it admits; it counts the",
            "inventory calls in flight per channel and every quantity it receives.",
            f"{measure.get('skus', 0):,} SKUs, {measure.get('listings_per_channel', 0)}",
            "random ones listed on each channel; `schedule: {orders: 1m}` (the other jobs",
            "hourly or daily, so they stay out of the measured minutes). A fresh migrated",
            "PostgreSQL schema per configuration, on the same machine. `omnisync run`",
            "(the single runner, or the sweeper beside the workers) and",
            f"`omnisync worker --concurrency {measure.get('worker_concurrency', '?')}`",
            "processes as an operator starts them; workers with `heartbeat: 1s,",
            "stalled_after: 3s, sweep_every: 1s`. The benchmark process changes stock in",
            "its own transactions (the ledger's bulk twin, bench/fixtures.change_stock),",
            "as any writer does.",
        ),
        "",
        *paragraph(
            "Each configuration: the start-up runs waited out (the single runner runs",
            "every job of every channel at start; the workers' schedule rows are made",
            "with the orders pulls spread over the minute), then a *light* phase (the same",
            f"skewed changes at {measure.get('light_rate_per_s', '?')}/s for",
            f"{measure.get('light_s', '?')} s, a load every configuration keeps up with),",
            "then a *burst* (every SKU +1",
            "in one transaction: every channel has one push to make; pushes/s = pushes",
            "the server accepted over the time until every channel held every new",
            "quantity), then a *steady* phase: Zipf-skewed single-SKU changes",
            f"(s = {measure.get('zipf_s', '?')}) at {measure.get('rate_per_s', '?')}/s for",
            f"{measure.get('steady_s', '?')} s, and its drain. With 2 or more workers,",
            "worker 0 is killed with SIGKILL halfway through the steady phase. Every",
            "change adds 1, so a channel holding a quantity >= q holds the change that made",
            "it q: change-to-channel is commit to the server's first receipt of such a",
            "quantity, for every channel listing the SKU.",
        ),
        "",
        "| configuration | burst pushes/s | burst drain s | steady pushes/s | p50 s | p95 s "
        "| p99 s | max s | changes/push | most pushes in flight per channel | orders "
        "double runs | changes not delivered | PostgreSQL CPU s | connections max |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, result in configs.items():
        if "error" in result:
            lines.append(f"| {_name(label)} | failed: {result['error'][:120]} |")
            continue
        burst, steady = result["burst"], result["steady"]
        latency, pulls = result["change_to_channel_s"], result["orders_pulls"]
        lines.append(
            f"| {_name(label)} | {burst['pushes_per_s']} | {burst['drain_s']} "
            f"| {steady['pushes_per_s']} | {latency['p50']} | {latency['p95']} "
            f"| {latency['p99']} | {latency['max']} | {result['changes_per_push']} "
            f"| {result['most_concurrent_pushes_per_channel']} | {pulls['double_runs']} "
            f"| {_undelivered(result)} | {result['cpu_s']['postgres']}{_pg_mark(result)} "
            f"| {result['connections']['max']} |"
        )
    lines.append("")
    if any("error" not in r and _whole_server(r) for r in configs.values()):
        lines += [
            *paragraph(
                "\\* PostgreSQL CPU of the postgres processes alive at the start and the end",
                "of the measured phases: the server was shared with other programs' test",
                "runs (counted) and a backend that exited in between is not: a rough",
                "figure, neither bound. Runs of the current code count only the backends",
                "serving the benchmark's processes, each to its last sample.",
            ),
            "",
        ]
    lines += _light_table(configs)
    lines += [*_details(configs, measure), *_verdict(measure, configs)]
    lines += extrapolation(measure, configs)
    return lines


def _light_table(configs: dict[str, dict[str, Any]]) -> list[str]:
    """Change-to-channel in the light phase, per configuration (runs that had one)."""
    rows = [
        (label, result["light"])
        for label, result in configs.items()
        if "error" not in result and "light" in result
    ]
    if not rows:
        return []
    lines = [
        "Light phase (not saturated):",
        "",
        "| configuration | changes | pushes/s | p50 s | p95 s | p99 s | max s "
        "| changes not delivered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, light in rows:
        latency = light["change_to_channel_s"]
        lines.append(
            f"| {_name(label)} | {light['changes']} | {light['pushes_per_s']} "
            f"| {latency['p50']} | {latency['p95']} | {latency['p99']} | {latency['max']} "
            f"| {light['lost_changes']} |"
        )
    return [*lines, ""]


def _kill(kill: dict[str, Any], result: dict[str, Any]) -> list[str]:
    found = kill["tasks_found_stalled"]
    when = (
        f"{kill['found_stalled_after_s']} s after the kill"
        if kill.get("kill_at_known")
        else "(this run did not record the kill's own time; by the settings a dead worker "
        "is found 3-5 s after)"
    )
    return [
        f"Kill -9 of worker 0 halfway through the steady phase: `omnisync run` found {found}",
        f"task(s) of it stalled {when}, failed each and deferred a fresh one ahead of the",
        f"tasks waiting (stalled_after {kill['stalled_after_s']} s); the channels of",
        f"{kill['served_again']} of them were served again (push received or orders pulled)",
        f"at most {kill['served_again_after_found_s']} s after the first was found; the",
        f"pushes running on any worker at the kill: {kill['pushes_running_at_kill']};",
        f"changes not delivered {_undelivered(result)}; quantities received twice",
        f"{result['duplicate_quantities']}.",
    ]


def _whole_server(result: dict[str, Any]) -> bool:
    """Figures of runs before the backends were told apart: `postgres` is then every
    postgres process of the machine, other programs' backends included."""
    return "postgres_server_all" not in result["cpu_s"]


def _pg_mark(result: dict[str, Any]) -> str:
    return "\\*" if _whole_server(result) else ""


def _steady_backlog(result: dict[str, Any]) -> bool:
    """The steady phase's drain ran into its bound: what no channel got was still queued."""
    return float(result["steady"]["drain_s"]) >= DRAIN_BOUND_S


def _achieved(steady: dict[str, Any]) -> str:
    seconds = steady.get("offered_s") or 0
    return f"{steady['changes'] / seconds:.1f}/s" if seconds else "?"


def _drained(result: dict[str, Any]) -> str:
    steady = result["steady"]
    if _steady_backlog(result):
        return f"not drained {steady['drain_s']} s after the last (the bound)"
    return f"drained {steady['drain_s']} s after the last"


def _undelivered(result: dict[str, Any]) -> str:
    """Changes no channel got: lost when the drain finished, else still queued."""
    count = result["lost_changes"]
    if _steady_backlog(result):
        return f"{count} (backlog at the drain bound, not lost)"
    return str(count)


def _details(configs: dict[str, dict[str, Any]], measure: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for label, result in configs.items():
        if "error" in result:
            continue
        cpu, pulls, overlaps = result["cpu_s"], result["orders_pulls"], result["overlapping_pushes"]
        text = [
            f"**{_name(label)}**: start-up {result['warm_up_s']} s;",
            f"{result['steady']['changes']} steady changes",
            f"({_achieved(result['steady'])} of the",
            f"{measure.get('rate_per_s', '?')}/s asked: each is one transaction of this",
            "process),",
            f"{_drained(result)};",
            f"{pulls['ok']} orders pulls on {pulls['channels']} channels",
            f"({pulls['refused']} refused and retried), shortest gap between two",
            f"successful pulls of one channel {pulls.get('shortest_gap_s')} s",
            f"({pulls.get('stalled_runs_again', 0)} pulls run again after their worker was",
            "killed, not counted as double runs);",
            f"inventory calls in flight at once for one channel: {overlaps['whole_run']}",
            f"overlaps over the whole run, {overlaps['after_warm_up']} after the start-up;",
            f"a quantity received twice by one channel: {result['duplicate_quantities']}",
            "times after the start-up;",
            f"listings not at their final quantity at the end: {result['listings_not_final']}.",
            f"CPU seconds over burst + steady ({cpu['wall_s']} s): PostgreSQL",
            f"{cpu['postgres']}, `omnisync run` {cpu['run']}, workers {cpu['workers']},",
            f"channel server {cpu['channel_server']}, this driver {cpu['this_driver']},",
            f"other processes on the machine {cpu['outside_the_benchmark']} (the machine",
            f"{round(100 * (cpu['machine_busy_share'] or 0))}% busy);",
            f"connections to the database: at most {result['connections']['max']},",
            f"median {result['connections']['median']}.",
        ]
        kill = result.get("kill")
        if kill:
            text += _kill(kill, result)
        if result.get("notes"):
            text.append("Notes: " + "; ".join(result["notes"]) + ".")
        lines += [*paragraph(*text), ""]
    return lines


def _verdict(measure: dict[str, Any], configs: dict[str, dict[str, Any]]) -> list[str]:
    single, four = configs.get("single"), configs.get("w4")
    lines: list[str] = []
    if single and four and "error" not in single and "error" not in four:
        base = single["burst"]["pushes_per_s"] or 0
        ratio = four["burst"]["pushes_per_s"] / base if base else 0
        verdict = "meets" if ratio >= SPEED_UP_TARGET else "misses"
        lines += [
            *paragraph(
                f"Target 1, 4 workers >= {SPEED_UP_TARGET:g}x the single process's push",
                f"throughput: {ratio:.2f}x at saturation (burst), so it {verdict} the target",
                f"on this {measure.get('cores', '?')}-core machine, where PostgreSQL, every",
                "worker, the sweeper, the channel server and the driver share the cores.",
                *_core_cap(measure, four, base),
            ),
            "",
        ]
    fine = {label: result for label, result in configs.items() if "error" not in result}
    lines += [
        *paragraph(
            f"Target 2, p95 change-to-channel < {P95_TARGET_S:g} s at",
            f"{measure.get('channels', 0):,} channels: in the steady phase",
            f"({measure.get('rate_per_s', '?')} changes/s),",
            _met_by({k: r["change_to_channel_s"] for k, r in fine.items()}),
            f"In the light phase ({measure.get('light_rate_per_s', '?')} changes/s),",
            _met_by(
                {k: r["light"]["change_to_channel_s"] for k, r in fine.items() if "light" in r}
            ),
        ),
        "",
    ]
    return lines


def _core_cap(measure: dict[str, Any], four: dict[str, Any], base: float) -> list[str]:
    """What the machine's cores allow at 4 workers' cost per push, against the single
    process's rate: the ceiling of the ratio on this machine, whatever the workers do."""
    cores = measure.get("cores")
    pushes = four["burst"]["pushes"] + four["steady"]["pushes"]
    if not cores or not pushes or not base:
        return []
    ms = 1000 * four["cpu_s"]["machine"] / pushes
    cap = cores * 1000 / ms
    return [
        f"With 4 workers the whole machine (every process) spent {ms:.1f} CPU-ms per push",
        f"accepted over burst and steady, so its {cores} cores hold at most {cap:.0f}",
        f"pushes/s: {cap / base:.2f}x the single process's {base}/s, the ceiling of the",
        "ratio here. The 3x needs cores for the workers that the single process cannot",
        "use (it runs its jobs in one Python process): see the paper figures below.",
    ]


def _met_by(spreads: dict[str, dict[str, Any]]) -> str:
    met = [_name(label) for label, spread in spreads.items() if spread["p95"] < P95_TARGET_S]
    missed = [_name(label) for label, spread in spreads.items() if spread["p95"] >= P95_TARGET_S]
    if not spreads:
        return "not measured."
    return (
        "met by "
        + (", ".join(met) if met else "none")
        + ("; missed by " + ", ".join(missed) if missed else "")
        + "."
    )


def extrapolation(measure: dict[str, Any], configs: dict[str, dict[str, Any]]) -> list[str]:
    """8 and 32 workers on machines of their own, on paper, from the measured costs."""
    one, four = configs.get("w1"), configs.get("w4")
    if not one or not four or "error" in one or "error" in four:
        return []
    pushes = four["burst"]["pushes"] + four["steady"]["pushes"]
    if not pushes:
        return []
    pg_ms = 1000 * four["cpu_s"]["postgres"] / pushes
    worker_ms = 1000 * four["cpu_s"]["workers"] / pushes
    per_worker = one["burst"]["pushes_per_s"]
    per_worker_connections = max(1.0, (four["connections"]["max"] - one["connections"]["max"]) / 3)
    rows = []
    for count in (8, 32):
        by_workers = count * per_worker
        by_postgres = 4 * 1000 / pg_ms if pg_ms else float("inf")
        rows.append(
            " ".join(
                [
                    f"{count} workers: {by_workers:,.0f} pushes/s by the workers (1 worker's",
                    f"{per_worker}/s times {count}), PostgreSQL's {pg_ms:.1f} CPU-ms per push",
                    f"caps 4 database cores at {by_postgres:,.0f}/s, so about",
                    f"{min(by_workers, by_postgres):,.0f}/s; about",
                    f"{one['connections']['max'] + per_worker_connections * (count - 1):,.0f}",
                    "connections.",
                ]
            )
        )
    return [
        *paragraph(
            "On paper (not measured): each worker on a machine of its own keeps the rate one",
            "worker reached here, where it shared 2 cores with everything else (a floor);",
            f"PostgreSQL spent {pg_ms:.1f} CPU-ms per accepted push",
            "(rough: the whole shared server)" if _whole_server(four) else "",
            "and the workers",
            f"{worker_ms:.1f} with 4 workers;",
            f"each further worker added about {per_worker_connections:.0f} connections.",
            *rows,
            "The channels' own quotas (4 requests/s each here) and the hot SKUs' channels",
            "bound what any number of workers can push to one channel.",
        ),
        "",
    ]
