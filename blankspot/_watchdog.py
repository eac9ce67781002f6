"""Hold a native solver to a wall-clock deadline it does not always check itself.

HiGHS stops at its ``time_limit`` only between steps, and some steps do not look at the
clock (nor at the interrupt callbacks): on the real Lampung instance at k=100, cut separation
at the root of a 2,000-site model ran 42 s past a 59 s limit. :func:`run` forks a child that
runs the solve and streams what it finds (plans, bounds) back through a pipe; at the
deadline, plus :data:`GRACE_S`, the child is killed and the caller gets what was streamed.

Where ``fork`` is not available (Windows, macOS' default), inside a daemonic process (which
may not have children), or when ``highspy`` cannot reset its thread pool in a child, the
solve runs in this process and the solver's own limit is the only one.

Examples
--------
>>> def solve(report):
...     report("halfway")
...     return 42
>>> out = run(solve, deadline=time.perf_counter() + 10)
>>> out.result, out.reports, out.killed
(42, ['halfway'], False)
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import highspy

__all__ = ["GRACE_S", "Outcome", "run"]

log = logging.getLogger("blankspot")

#: Seconds the child may run past the deadline before it is killed (its own limit normally
#: stops it first, and it needs a moment to send its result).
GRACE_S = 2.0
#: A deadline further away than this (seconds) is no deadline.
_NO_DEADLINE_S = 1e6


@dataclass
class Outcome:
    """What :func:`run` got.

    The solve's return value (``None`` when it was killed), every report it streamed, in
    order, and whether it was killed.
    """

    result: Any = None
    reports: list[Any] = field(default_factory=list)
    killed: bool = False


def _can_fork() -> bool:
    return (
        "fork" in mp.get_all_start_methods()
        and not mp.current_process().daemon
        and hasattr(highspy.Highs, "resetGlobalScheduler")
    )


def _child(conn: Any, solve: Callable[[Callable[[Any], None]], Any]) -> None:
    # the parent's HiGHS thread pool did not survive the fork: without a reset, a
    # multi-threaded solve here waits forever for threads that do not exist
    highspy.Highs.resetGlobalScheduler(False)
    try:
        result = solve(lambda message: conn.send(("report", message)))
    except BaseException as exc:  # handed to the parent, which raises it
        conn.send(("error", exc))
    else:
        conn.send(("done", result))
    finally:
        conn.close()


def run(
    solve: Callable[[Callable[[Any], None]], Any],
    *,
    deadline: float,
    grace_s: float = GRACE_S,
) -> Outcome:
    """Run ``solve(report)`` and stop it at ``deadline`` (a ``time.perf_counter`` value).

    ``solve`` gets a ``report`` function to stream picklable messages with; what it returns
    (picklable) is :attr:`Outcome.result`. An exception raised in ``solve`` is raised here.
    """
    out = Outcome()
    if not _can_fork():
        out.result = solve(out.reports.append)
        return out
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, solve), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            wait = deadline + grace_s - time.perf_counter()
            # poll() takes no timeout beyond C's time range: no deadline then
            if wait <= 0 or not receiver.poll(None if wait > _NO_DEADLINE_S else wait):
                out.killed = True
                break
            try:
                kind, payload = receiver.recv()
            except EOFError:  # the child died without a word (killed from outside)
                out.killed = True
                break
            if kind == "report":
                out.reports.append(payload)
            elif kind == "error":
                raise payload
            else:
                out.result = payload
                break
    finally:
        # past the deadline, or interrupted here (Ctrl-C): the child must not run on
        if child.is_alive() and out.result is None:
            if out.killed:
                log.info("the solver ran %.1f s past its deadline: stopped", grace_s)
            child.kill()
        child.join()
        receiver.close()
    return out
