"""Invariant 8: two holders never hold the same (channel, job) lease; an expired one is free."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine

from core.channels import channel_by_name
from core.db import transaction
from sync.leases import Lease, release, renew, try_acquire
from tests.support.world import build_world

TTL = timedelta(seconds=30)


def _channel_id(engine: Engine) -> int:
    build_world(engine)
    with transaction(engine, read_only=True) as session:
        channel_id = channel_by_name(session, "shop").id
    assert channel_id is not None
    return channel_id


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
    assert try_acquire(engine, channel_id, "orders", "a", TTL)
    assert not try_acquire(engine, channel_id, "orders", "b", TTL)
    release(engine, channel_id, "orders", "a")
    assert try_acquire(engine, channel_id, "orders", "b", timedelta(milliseconds=50))
    time.sleep(0.1)  # b died without releasing: its lease expires
    assert try_acquire(engine, channel_id, "orders", "c", TTL)
    assert not renew(engine, channel_id, "orders", "b", TTL)


def test_the_lease_context_renews_while_held_and_releases_on_exit(engine: Engine) -> None:
    channel_id = _channel_id(engine)
    with Lease(engine, channel_id, "orders", "a", timedelta(milliseconds=600)) as lease:
        assert lease.acquired
        time.sleep(1.0)  # longer than the ttl: the heartbeat kept it
        assert not try_acquire(engine, channel_id, "orders", "b", TTL)
        assert not lease.lost.is_set()
    assert try_acquire(engine, channel_id, "orders", "b", TTL)


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
