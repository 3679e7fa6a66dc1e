"""The job table is the one list of jobs: the CLI, the channel file's `schedule:`
section and the engine all take theirs from it, under the names users already use."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from omnisync.hub.cli import app
from omnisync.hub.settings import CHANNEL_ENVELOPE_KEYS, ChannelEnvelope, ScheduleConfig
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.registry import JOBS, PUSH_JOBS, job_spec, supports_job
from omnisync.sync.runs import NotRun, outcome_status

USER_VISIBLE_JOB_NAMES = [
    "orders",
    "listings",
    "stock",
    "fulfilments",
    "reconcile",
    "tracking",
    "returns",
]


def test_every_job_name_has_a_spec_in_the_order_jobs_are_shown() -> None:
    assert [job.value for job in JOBS] == USER_VISIBLE_JOB_NAMES
    assert list(JOBS) == list(JobName)


def test_the_schedule_section_has_one_key_per_job_with_the_tables_default() -> None:
    assert list(ScheduleConfig.model_fields) == USER_VISIBLE_JOB_NAMES
    defaults = ScheduleConfig()
    assert {job: defaults.interval(job) for job in JobName} == {
        job: spec.default_interval for job, spec in JOBS.items()
    }
    assert defaults.interval(JobName.TRACKING) == timedelta(minutes=15)
    assert defaults.interval(JobName.RETURNS) == timedelta(minutes=5)


def test_the_cli_offers_exactly_the_job_names() -> None:
    shown = CliRunner().invoke(app, ["sync", "--help"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert "<" + "|".join(USER_VISIBLE_JOB_NAMES) + ">" in shown.output
    assert CliRunner().invoke(app, ["sync", "inventory"]).exit_code == 2


def test_the_envelope_keys_are_the_envelope_models_fields() -> None:
    assert set(ChannelEnvelope.model_fields) == CHANNEL_ENVELOPE_KEYS
    assert {
        "name",
        "type",
        "enabled",
        "account",
        "locations",
        "stock",
        "schedule",
        "sync",
    } == CHANNEL_ENVELOPE_KEYS


def test_pushes_are_the_jobs_that_need_the_stock_capability() -> None:
    assert {JobName.STOCK, JobName.RECONCILE} == PUSH_JOBS


def test_a_name_that_is_no_job_has_no_spec_and_no_channel_supports_it() -> None:
    assert job_spec("inventory") is None
    assert job_spec("orders") is JOBS[JobName.ORDERS]
    assert not supports_job("sandbox", "inventory")
    assert supports_job("sandbox", "orders")
    assert not supports_job("sandbox", "returns")  # returns are made in the hub


def test_counter_and_status_values_are_the_strings_stored_and_shown() -> None:
    assert RunCount.SHIPPED_BEFORE_CUT_OVER.value == "shipped_before_cut_over"
    assert all(count.value == count.name.lower() for count in RunCount)
    assert outcome_status("skipped") is NotRun.SKIPPED
    assert outcome_status("partial") == "partial"
