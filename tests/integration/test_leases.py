"""Invariant 8: two holders never hold the same (channel, job) lease; an expired one is free.

Expiry is read on a manual clock the tests step, never on how long a sleep took."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.models import SyncLease
from omnisync.sandbox.clock import ManualClock
from omnisync.sync.leases import Lease, release, renew, try_acquire
from tests.support.polling import eventually
from tests.support.world import build_world

TTL = timedelta(seconds=30)
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
A_MOMENT = timedelta(milliseconds=1)


def _channel_id(engine: Engine) -> int:
    build_world(engine)
    with transaction(engine, read_only=True) as session:
        channel_id = channel_by_name(session, "shop").id
    assert channel_id is not None
    return channel_id


def _stored_expiry(engine: Engine, channel_id: int, job: str) -> datetime:
    with transaction(engine, read_only=True) as session:
        lease = session.exec(
            select(SyncLease).where(SyncLease.channel_id == channel_id, SyncLease.job == job)
        ).one()
        return lease.expires_at


def test_only_one_of_many_contenders_gets_the_lease(engine: Engine) -> None:
    channel_id = _channel_id(engine)
    start = threading.Barrier(10)

    def contend(number: int) -> bool:
        start.wait()
        return try_acquire(engine, channel_id, "orders", f"holder-{number}", TTL)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(contend, range(10)))
    assert results.count(True) == 1
    winner = f"holder-{results.index(True)}"
    assert try_acquire(engine, channel_id, "orders", winner, TTL)  # re-entrant for its holder
    assert try_acquire(engine, channel_id, "stock", "holder-x", TTL)  # other jobs are separate


def test_a_released_or_expired_lease_can_be_taken_and_the_old_holder_cannot_renew(
    engine: Engine,
) -> None:
    channel_id = _channel_id(engine)
    clock = ManualClock(START)
    assert try_acquire(engine, channel_id, "orders", "a", TTL, clock=clock.now)
    assert not try_acquire(engine, channel_id, "orders", "b", TTL, clock=clock.now)
    release(engine, channel_id, "orders", "a", clock=clock.now)
    clock.advance(A_MOMENT)  # a released lease is free from the next instant on
    assert try_acquire(
        engine, channel_id, "orders", "b", timedelta(milliseconds=50), clock=clock.now
    )
    clock.advance(timedelta(milliseconds=100))  # b died without releasing: its lease expires
    assert try_acquire(engine, channel_id, "orders", "c", TTL, clock=clock.now)
    assert not renew(engine, channel_id, "orders", "b", TTL, clock=clock.now)


def test_the_lease_context_renews_while_held_and_releases_on_exit(engine: Engine) -> None:
    channel_id = _channel_id(engine)
    clock = ManualClock(START)
    ttl = timedelta(milliseconds=600)
    with Lease(engine, channel_id, "orders", "a", ttl, clock=clock.now) as lease:
        assert lease.acquired
        clock.advance(timedelta(seconds=1))  # longer than the ttl: only a renewal keeps it
        now = clock.now()
        # The heartbeat renews every ttl / 3 of real time: wait for a renewal past `now`
        # (however late a loaded machine runs it) instead of betting on a sleep.
        assert eventually(lambda: _stored_expiry(engine, channel_id, "orders") > now)
        assert not try_acquire(engine, channel_id, "orders", "b", TTL, clock=clock.now)
        assert not lease.lost.is_set()
    clock.advance(A_MOMENT)
    assert try_acquire(engine, channel_id, "orders", "b", TTL, clock=clock.now)


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_over_at_once(engine: Engine) -> None:
    channel_id = _channel_id(engine)
    holder = f"{socket.gethostname()}:{dead_pid()}:abcd1234"
    assert try_acquire(engine, channel_id, "orders", holder, TTL)
    assert try_acquire(engine, channel_id, "orders", "someone-else", TTL)
    live = f"{socket.gethostname()}:{os.getpid()}:abcd1234"
    assert try_acquire(engine, channel_id, "stock", live, TTL)
    assert not try_acquire(engine, channel_id, "stock", "someone-else", TTL)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
