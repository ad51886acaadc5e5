"""Progress of long work: the perturbation methods (Score-CAM family, Ablation-CAM, RISE,
Occlusion) report ``(done, total)`` after each masked batch they score.

Watch it with a callable::

    import camlens
    import torch
    import torchvision

    model = torchvision.models.resnet18().eval()
    seen = []
    with camlens.progress(lambda done, total: seen.append((done, total))):
        camlens.ScoreCAM(model, "layer4", batch_size=128)(torch.rand(1, 3, 64, 64))
    print(seen[0], seen[-1])  # (0, n) (n, n): n of the 512 channels (constant ones are skipped)

The callable is called once with ``(0, total)`` when a method starts a layer's batches (so the
total, and with the time of the first batches an estimate of the rest, is known early), then
after every batch with the masked images done so far; ``done`` increases and ends at ``total``.
Each layer (and each call) counts from 0 again. The callbacks belong to the current context
(:mod:`contextvars`): nested ``progress`` blocks all receive the reports, and other threads do not.
A method's own ``progress=True`` shows a tqdm bar of the same counts. The ``camlens`` CLI shows
one on stderr (on a terminal, or always with ``--progress``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

#: ``callback(done, total)``: masked images scored so far, of how many.
ProgressCallback = Callable[[int, int], object]

_callbacks: contextvars.ContextVar[tuple[ProgressCallback, ...]] = contextvars.ContextVar(
    "camlens_progress", default=()
)


@contextlib.contextmanager
def progress(callback: ProgressCallback) -> Iterator[None]:
    """Within the block, every perturbation method calls ``callback(done, total)``: once with
    ``done=0`` as it starts, then after each masked batch (see the module docstring)."""
    if not callable(callback):
        raise TypeError(f"progress needs a callable (done, total), not {type(callback).__name__}.")
    token = _callbacks.set((*_callbacks.get(), callback))
    try:
        yield
    finally:
        _callbacks.reset(token)


class Tracker:
    """One counted piece of work: :meth:`update` adds to ``done`` and tells the context's
    callbacks and, when there is one, a tqdm bar."""

    def __init__(self, total: int, callbacks: tuple[ProgressCallback, ...], bar: Any) -> None:
        self.total = int(total)
        self.done = 0
        self._callbacks = callbacks
        self._bar = bar
        self._report()

    def _report(self) -> None:
        for callback in self._callbacks:
            callback(self.done, self.total)

    def update(self, n: int = 1) -> None:
        """``n`` more items done."""
        self.done += int(n)
        if self._bar is not None:
            self._bar.update(n)
        self._report()


@contextlib.contextmanager
def track(total: int, desc: str, bar: bool = False) -> Iterator[Tracker]:
    """A :class:`Tracker` of ``total`` items for the current context's callbacks, and a tqdm bar
    (``desc``) when ``bar`` is true. The perturbation methods wrap their batch loop in it."""
    shown = None
    if bar:
        from tqdm.auto import tqdm

        shown = tqdm(total=total, desc=desc, unit="img", leave=False)
    try:
        yield Tracker(total, _callbacks.get(), shown)
    finally:
        if shown is not None:
            shown.close()
