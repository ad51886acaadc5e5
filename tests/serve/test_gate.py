"""The worker pool: admission up to workers + queue, one replica per running job, timeouts that
answer at once but release the slot only when the thread has finished, cooperative cancel."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import torch
from torch import nn

from camlens.serve.errors import ServeError
from camlens.serve.gate import (
    JobCancelled,
    WorkerPool,
    check_cancelled,
    install_cancel_hook,
)

torch.set_num_threads(1)


def far() -> float:
    return time.monotonic() + 60


def test_admits_workers_plus_queue_then_refuses_with_retry_after():
    pool = WorkerPool(["a", "b"], queue_size=3)
    tickets = [pool.admit() for _ in range(5)]
    assert pool.admitted == 5
    with pytest.raises(ServeError) as refused:
        pool.admit()
    assert refused.value.status == 503 and refused.value.code == "busy"
    assert refused.value.retry_after >= 1
    assert pool.rejected == 1
    for ticket in tickets:
        ticket.close()
        ticket.close()  # closing twice releases once
    assert pool.admitted == 0
    pool.admit().close()
    pool.shutdown()


def test_jobs_run_on_worker_threads_each_with_its_own_replica():
    replicas = [object(), object()]
    pool = WorkerPool(replicas, queue_size=4)
    both_running = threading.Barrier(2, timeout=30)
    seen: list[tuple[object, str]] = []

    def job(replica):
        seen.append((replica, threading.current_thread().name))
        both_running.wait()  # two jobs at once: only possible with two workers
        return id(replica)

    async def main():
        async def one():
            with pool.admit() as ticket:
                return await ticket.run(job, far())

        return await asyncio.gather(one(), one())

    results = asyncio.run(main())
    assert sorted(results) == sorted(id(r) for r in replicas)
    assert all(name.startswith("camlens-serve") for _, name in seen)
    assert (pool.admitted, pool.running, pool.served) == (0, 0, 2)
    pool.shutdown()


def test_queued_requests_wait_for_the_single_worker():
    pool = WorkerPool(["only"], queue_size=5)
    order: list[int] = []
    active = []

    def job_for(i):
        def job(replica):
            active.append(i)
            assert len(active) == 1  # never two at once
            order.append(i)
            time.sleep(0.01)
            active.remove(i)
            return i

        return job

    async def main():
        async def one(i):
            with pool.admit() as ticket:
                return await ticket.run(job_for(i), far())

        return await asyncio.gather(*(one(i) for i in range(6)))

    assert asyncio.run(main()) == list(range(6))
    assert sorted(order) == list(range(6)) and pool.served == 6
    pool.shutdown()


def test_timeout_answers_at_once_but_keeps_the_slot_until_the_thread_ends():
    pool = WorkerPool(["only"], queue_size=1)
    release = threading.Event()
    started = threading.Event()

    def stuck(replica):
        started.set()
        release.wait(60)
        return "late"

    async def main():
        with pool.admit() as ticket, pytest.raises(ServeError) as late:
            await ticket.run(stuck, time.monotonic() + 0.2)
        assert late.value.status == 503 and late.value.code == "timeout"
        assert started.is_set()
        # the thread still runs: its slot and admission are still held
        assert (pool.running, pool.admitted) == (1, 1)
        release.set()
        for _ in range(600):
            if pool.running == 0:
                break
            await asyncio.sleep(0.05)
        assert (pool.running, pool.admitted, pool.timed_out) == (0, 0, 1)
        with pool.admit() as ticket:  # the worker is free again
            assert await ticket.run(lambda replica: replica, far()) == "only"

    asyncio.run(main())
    pool.shutdown()


def test_waiting_past_the_deadline_for_a_worker_is_a_timeout():
    pool = WorkerPool(["only"], queue_size=2)
    release = threading.Event()

    async def main():
        async def busy_one():
            with pool.admit() as ticket:
                return await ticket.run(lambda r: release.wait(60), far())

        first = asyncio.create_task(busy_one())
        while pool.running == 0:
            await asyncio.sleep(0.01)
        with pool.admit() as ticket, pytest.raises(ServeError) as late:
            await ticket.run(lambda r: "never", time.monotonic() + 0.1)
        assert late.value.code == "timeout"
        assert pool.admitted == 1  # the queued request left; the running one stays
        release.set()
        assert await first is True

    asyncio.run(main())
    assert pool.admitted == 0
    pool.shutdown()


class Looping(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        return self.linear(x)


def test_cancel_hook_stops_a_job_at_its_next_forward_pass():
    model = Looping()
    install_cancel_hook(model)
    pool = WorkerPool([model], queue_size=0)
    passes = []

    def many_forwards(replica):
        for _ in range(1_000_000):
            replica(torch.zeros(1, 4))
            passes.append(1)
            time.sleep(0.001)
        return "finished"

    async def main():
        with pool.admit() as ticket, pytest.raises(ServeError):
            await ticket.run(many_forwards, time.monotonic() + 0.2)
        for _ in range(600):
            if pool.running == 0:
                break
            await asyncio.sleep(0.05)
        assert pool.running == 0  # the job stopped by itself (JobCancelled in the thread)
        count = len(passes)
        await asyncio.sleep(0.2)
        assert len(passes) == count

    asyncio.run(main())
    assert model(torch.zeros(1, 4)).shape == (1, 4)  # outside a job the hook does nothing
    pool.shutdown()


def test_a_client_that_leaves_stops_its_running_job_and_frees_its_queued_place():
    model = Looping()
    install_cancel_hook(model)
    pool = WorkerPool([model], queue_size=1)
    passes = []

    def many_forwards(replica):
        for _ in range(1_000_000):
            replica(torch.zeros(1, 4))
            passes.append(1)
            time.sleep(0.001)
        return "finished"

    async def main():
        running_gone, queued_gone = asyncio.Event(), asyncio.Event()

        async def one(gone: asyncio.Event):
            with pool.admit() as ticket:
                return await ticket.run(many_forwards, far(), gone=gone.wait)

        running = asyncio.create_task(one(running_gone))
        while not passes:
            await asyncio.sleep(0.01)
        queued = asyncio.create_task(one(queued_gone))
        while pool.admitted < 2:
            await asyncio.sleep(0.01)
        queued_gone.set()  # leaves the queue at once, never runs
        with pytest.raises(ServeError) as left:
            await queued
        assert (left.value.status, left.value.code) == (499, "client_closed_request")
        assert (pool.admitted, pool.running, pool.cancelled) == (1, 1, 1)
        running_gone.set()
        with pytest.raises(ServeError):
            await running
        for _ in range(600):
            if pool.running == 0:
                break
            await asyncio.sleep(0.05)
        assert (pool.admitted, pool.running, pool.cancelled, pool.served) == (0, 0, 2, 0)
        count = len(passes)
        await asyncio.sleep(0.2)
        assert len(passes) == count  # the job stopped at its next forward pass

    asyncio.run(main())
    pool.shutdown()


def test_check_cancelled_outside_a_job_is_a_no_op():
    check_cancelled()
    assert issubclass(JobCancelled, Exception)


def test_pool_needs_a_replica():
    with pytest.raises(ValueError, match="replica"):
        WorkerPool([], queue_size=1)
