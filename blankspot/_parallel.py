"""Run independent pieces of an assessment on the machine's cores (forked worker processes).

:func:`run` maps a module-level function over tasks in up to ``workers`` forked processes and
yields the results in task order, so the caller combines them exactly as a serial loop would:
the parallel result is the serial result, bit for bit. It falls back to a plain loop in this
process when one worker is asked for, when there is a single task, when ``fork`` is not
available (Windows, macOS' default) or when this process is itself a daemonic worker (which
may not have children).

Big read-only inputs (the villages, the coverage source) are not pickled: they are handed
over in ``state``, which the forked workers inherit. Each task and each result is pickled
once. At most ``in_flight`` tasks are out at a time, so a lazy ``tasks`` iterator (batches
read from disk) is only read that far ahead and memory stays bounded.

Inside a worker: GDAL decodes with one thread (the processes are the parallelism, and GDAL's
thread pool does not survive a fork), pyproj reopens its database (a SQLite handle must not
be shared across a fork), and warnings are recorded and issued again in the parent, so a
caller sees the same warnings as from a serial run.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import numbers
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from pyproj import datadir

from blankspot import _raster
from blankspot._errors import BlankspotWarning, InputError
from blankspot._validate import warn_user

__all__ = ["check_workers", "plan_workers", "run", "usable_cores"]

log = logging.getLogger("blankspot")

#: Inherited by forked workers: the read-only inputs of the function being mapped.
_STATE: dict[str, Any] = {}


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; ``os.cpu_count()`` elsewhere)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: Any) -> int | None:
    """Validate a ``workers=`` option: ``None`` (automatic) or a whole number >= 1.

    Examples
    --------
    >>> check_workers(None), check_workers(2)
    (None, 2)
    """
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise InputError(
            f"workers must be a whole number of processes >= 1 (1 = no worker processes) or "
            f"None for one per usable core ({usable_cores()} here); got {workers!r}."
        )
    return int(workers)


def _fork_available() -> bool:
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def plan_workers(workers: int | None, n_tasks: int) -> int:
    """Choose the processes for ``n_tasks`` tasks: 1 means a plain loop in this process.

    ``None`` asks for one per usable core. Never more than the usable cores nor the tasks.
    """
    if n_tasks <= 1 or not _fork_available():
        return 1
    cores = usable_cores()
    wanted = cores if workers is None else min(int(workers), cores)
    return max(1, min(wanted, n_tasks))


def _init_worker() -> None:
    """Make a freshly forked worker safe: single-threaded GDAL, its own PROJ database handle."""
    _raster.DECODE_THREADS = None
    datadir.set_data_dir(datadir.get_data_dir())  # reopens proj.db for this process


def _call(func: Callable[[dict[str, Any], Any], Any], task: Any) -> tuple[Any, list[Any]]:
    """Run one task in a worker, recording its warnings for the parent."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(_STATE, task)
    return result, [(str(w.message), w.category) for w in caught]


def _reissue(caught: list[Any]) -> None:
    for message, category in caught:  # a handful per task
        if issubclass(category, BlankspotWarning):
            warn_user(message)
        else:
            warnings.warn(message, category, stacklevel=3)


def run(
    func: Callable[[dict[str, Any], Any], Any],
    tasks: Iterable[Any],
    *,
    state: dict[str, Any],
    workers: int,
    in_flight: int | None = None,
) -> Iterator[Any]:
    """Yield ``func(state, task)`` for each task, in task order, on ``workers`` processes.

    Parameters
    ----------
    func
        A module-level function (workers find it by name) of ``(state, task)``.
    tasks
        The tasks; read lazily, at most ``in_flight`` ahead of the results consumed.
    state
        Read-only inputs shared by every task; inherited by the forked workers, never pickled.
    workers
        Processes (from :func:`plan_workers`); 1 runs a plain loop here.
    in_flight
        Tasks submitted and not yet consumed (default ``workers + 1``: one waiting per worker
        while the parent prepares the next).

    Examples
    --------
    >>> list(run(lambda state, t: state["k"] * t, [1, 2, 3], state={"k": 10}, workers=1))
    [10, 20, 30]
    """
    if workers <= 1:
        for task in tasks:
            yield func(state, task)
        return
    limit = max(workers, in_flight or workers + 1)
    _STATE.clear()
    _STATE.update(state)
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("fork"), initializer=_init_worker
        ) as pool:
            log.info("Running on %d worker processes", workers)
            pending: deque[Future[Any]] = deque()
            it = iter(tasks)
            try:
                for task in it:
                    pending.append(pool.submit(_call, func, task))
                    if len(pending) >= limit:
                        yield _collect(pending.popleft())
                while pending:
                    yield _collect(pending.popleft())
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
    finally:
        _STATE.clear()


def _collect(future: Future[Any]) -> Any:
    result, caught = future.result()
    _reissue(caught)
    return result
