"""Bounded concurrency: an admission gate and a few worker threads, each with its own model.

A burst queues instead of exhausting memory:

- at most ``workers + queue`` requests are *admitted* at once (counted before the upload is read);
  one more is refused at once with 503 and a ``Retry-After`` estimate;
- an admitted request waits on an ``asyncio.Semaphore(workers)`` and then runs its job in a
  ``ThreadPoolExecutor(workers)``, never on the event loop;
- each job checks out a model *replica* of its own (camlens' hooks live on the model during a call,
  so two concurrent calls must not share one);
- past the deadline the request gets 503 at once; when the client disconnects (``gone``, while
  queued or running) the request is dropped. Either way the job is told to stop (a forward
  pre-hook on the model raises :class:`JobCancelled` at its next forward pass) and its slot is
  released only when the thread has really finished, so the number of running jobs never
  exceeds ``workers``.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from torch import nn

from ..errors import JobCancelled as JobCancelled
from ..errors import ServeConfigError
from .errors import busy, client_gone, timed_out

T = TypeVar("T")
R = TypeVar("R")

_local = threading.local()


def check_cancelled() -> None:
    """Raise :class:`JobCancelled` if the job running on this thread was cancelled."""
    event = getattr(_local, "cancel", None)
    if event is not None and event.is_set():
        raise JobCancelled("the request timed out or its client left; the explanation was stopped")


def install_cancel_hook(model: nn.Module) -> None:
    """Make every forward pass of ``model`` first check whether its job was cancelled.

    Perturbation methods (Score-CAM, Ablation-CAM, ...) run many forward passes, so a cancelled
    job stops within one of them. The hook stays for the server's lifetime (the model is its own).
    """
    model.register_forward_pre_hook(lambda module, args: check_cancelled())


@dataclass
class GateStats:
    """Counters for ``/healthz``."""

    workers: int
    capacity: int
    admitted: int
    running: int
    served: int
    rejected: int
    timed_out: int
    cancelled: int
    mean_seconds: float


class WorkerPool(Generic[T]):
    """``len(replicas)`` worker threads behind an admission gate of ``len(replicas) + queue``.

    ``replicas``: one object per worker (a model replica); a job gets one for its duration.
    """

    def __init__(self, replicas: list[T], queue_size: int) -> None:
        if not replicas:
            raise ServeConfigError("WorkerPool needs at least one replica")
        self.workers = len(replicas)
        self.capacity = self.workers + queue_size
        self._replicas: queue.SimpleQueue[T] = queue.SimpleQueue()
        for replica in replicas:
            self._replicas.put(replica)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="camlens-serve")
        self._slots: asyncio.Semaphore | None = None
        self.admitted = 0
        self.running = 0
        self.served = 0
        self.rejected = 0
        self.timed_out = 0
        self.cancelled = 0  # requests whose client left while queued or running
        self.mean_seconds = 1.0  # running mean of a job's duration, for Retry-After

    def stats(self) -> GateStats:
        return GateStats(
            self.workers,
            self.capacity,
            self.admitted,
            self.running,
            self.served,
            self.rejected,
            self.timed_out,
            self.cancelled,
            round(self.mean_seconds, 4),
        )

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the admitted work spread over the workers."""
        return max(1, math.ceil(self.mean_seconds * max(self.admitted, 1) / self.workers))

    def admit(self) -> Ticket[T]:
        """A :class:`Ticket` for one request, or 503 at once when ``capacity`` are admitted."""
        if self.admitted >= self.capacity:
            self.rejected += 1
            raise busy(
                f"the server is busy: {self.running} explanations running and "
                f"{self.admitted - self.running} waiting (its limit is {self.capacity}); "
                "retry after the Retry-After seconds.",
                self.retry_after(),
            )
        self.admitted += 1
        return Ticket(self)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:  # made inside the running loop
            self._slots = asyncio.Semaphore(self.workers)
        return self._slots

    def _run_in_thread(self, job: Callable[[T], R], cancel: threading.Event) -> R:
        replica = self._replicas.get_nowait()  # never empty: jobs <= workers = replicas
        _local.cancel = cancel
        try:
            check_cancelled()
            return job(replica)
        finally:
            _local.cancel = None
            self._replicas.put(replica)


class Ticket(Generic[T]):
    """One admitted request: ``await ticket.run(job, deadline)`` once, then ``close()``.

    Use as ``with pool.admit() as ticket:``; the admission is released on exit, or, if the job's
    thread is still running (timeout), when that thread finishes.
    """

    def __init__(self, pool: WorkerPool[T]) -> None:
        self._pool = pool
        self._thread_owns_slot = False
        self._closed = False

    def __enter__(self) -> Ticket[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed and not self._thread_owns_slot:
            self._pool.admitted -= 1
        self._closed = True

    async def run(
        self,
        job: Callable[[T], R],
        deadline: float,
        gone: Callable[[], Awaitable[object]] | None = None,
    ) -> R:
        """Run ``job(replica)`` on a worker thread; 503 if it is not done by ``deadline``
        (``time.monotonic()`` seconds).

        ``gone``: a coroutine function that returns once the client has disconnected; then the
        request is dropped (:func:`~camlens.serve.errors.client_gone`) and its job stopped.
        """
        watcher = asyncio.ensure_future(gone()) if gone is not None else None
        try:
            return await self._run(job, deadline, watcher)
        finally:
            if watcher is not None:
                watcher.cancel()

    async def _run(
        self, job: Callable[[T], R], deadline: float, watcher: asyncio.Future | None
    ) -> R:
        pool = self._pool
        slots = pool._semaphore()
        acquire = asyncio.ensure_future(slots.acquire())
        outcome = await _first(acquire, deadline, watcher)
        if outcome != "done":
            acquire.cancel()
            try:
                await acquire
            except asyncio.CancelledError:
                pass
            else:  # acquired at the last moment: give it back
                slots.release()
            if outcome == "gone":
                pool.cancelled += 1
                raise client_gone("the client left while its request waited for a worker.")
            pool.timed_out += 1
            raise timed_out(
                "the request waited longer than the server's timeout for a free worker; "
                "retry after the Retry-After seconds.",
                pool.retry_after(),
            )
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        self._thread_owns_slot = True
        pool.running += 1
        future = loop.run_in_executor(pool._executor, pool._run_in_thread, job, cancel)

        def finished(done: asyncio.Future) -> None:  # on the event loop, when the thread ends
            if not done.cancelled():
                done.exception()  # retrieved: a job that failed after its timeout is not logged
            seconds = time.monotonic() - start
            pool.mean_seconds = 0.8 * pool.mean_seconds + 0.2 * seconds
            pool.running -= 1
            pool.admitted -= 1
            slots.release()

        future.add_done_callback(finished)
        try:
            outcome = await _first(future, deadline, watcher)
        except asyncio.CancelledError:  # the request's task itself was cancelled: stop the job
            cancel.set()
            raise
        if outcome == "gone":
            cancel.set()
            pool.cancelled += 1
            raise client_gone("the client left; its explanation was stopped.")
        if outcome == "timeout":
            cancel.set()
            pool.timed_out += 1
            raise timed_out(
                "the explanation took longer than the server's timeout and was stopped; "
                "try a cheaper method (e.g. gradcam) or retry after the Retry-After seconds.",
                pool.retry_after(),
            )
        result = future.result()
        pool.served += 1
        return result


async def _first(task: asyncio.Future, deadline: float, watcher: asyncio.Future | None) -> str:
    """``"done"`` when ``task`` ends first, ``"gone"`` when ``watcher`` does, else ``"timeout"``
    at ``deadline``. Neither future is cancelled."""
    waiting = {task} if watcher is None else {task, watcher}
    timeout = max(deadline - time.monotonic(), 0.0)
    done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return "done"
    return "gone" if watcher is not None and watcher in done else "timeout"
