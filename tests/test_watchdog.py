"""A native solve held to a hard deadline in a forked child (``blankspot._watchdog``), and the
exact solver's HiGHS step run under it (issue #8: ``time_limit_s`` bounds the whole call)."""

from __future__ import annotations

import time

import highspy
import numpy as np
import pytest

from blankspot import _exact, _lagrange, _watchdog
from tests.test_lagrange import clustered_instance, independent_optimum


def _slow(report):
    report("started")
    time.sleep(30)
    return "finished"


def test_a_solve_past_its_deadline_is_killed_with_what_it_reported():
    t0 = time.perf_counter()
    out = _watchdog.run(_slow, deadline=t0 + 0.5, grace_s=0.5)
    assert out.killed and out.result is None and out.reports == ["started"]
    assert time.perf_counter() - t0 < 5


def _fails(report):
    report("about to fail")
    raise ValueError("bad model")


def test_an_error_in_the_child_is_raised_here():
    with pytest.raises(ValueError, match="bad model"):
        _watchdog.run(_fails, deadline=time.perf_counter() + 30)


def test_without_fork_the_solve_runs_here(monkeypatch):
    monkeypatch.setattr(_watchdog, "_can_fork", lambda: False)
    marker = []

    def solve(report):
        marker.append("ran in this process")  # a forked child's append would be lost
        report(1)
        return 2

    out = _watchdog.run(solve, deadline=time.perf_counter() + 30)
    assert (out.result, out.reports, out.killed) == (2, [1], False)
    assert marker == ["ran in this process"]


def test_highs_in_the_child_after_highs_ran_here():
    """A multi-threaded HiGHS solve in this process first leaves its thread pool behind; the
    child must reset it, or its own solve waits forever for threads that the fork did not
    copy (then the watchdog kills it and the status says so)."""
    A, w, _ = clustered_instance(17, False)
    ref = independent_optimum(A, w, k=8)  # HiGHS in this process, with its threads
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 2)
    h.run()
    mip = _exact._solve_mip(
        A, w, k=8, budget=None, costs=None, start=np.zeros(0, np.int64), time_limit_s=20
    )
    assert mip.status == "Optimal" and mip.value == pytest.approx(ref)


def test_reports_from_highs_are_valid_plans_and_bounds(monkeypatch):
    """Every plan HiGHS reports while it runs has at most k sites and every bound is at
    least the optimum (so the bound of a killed solve is valid)."""
    A, w, _ = clustered_instance(88, False)
    ref = independent_optimum(A, w, k=6)
    seen = []
    real_run = _watchdog.run

    def spy(solve, **kwargs):
        out = real_run(solve, **kwargs)
        seen.extend(out.reports)
        return out

    monkeypatch.setattr(_watchdog, "run", spy)
    monkeypatch.setattr(_exact, "_BOUND_EVERY_S", 0.0)
    mip = _exact._solve_mip(
        A, w, k=6, budget=None, costs=None, start=np.zeros(0, np.int64), time_limit_s=60
    )
    plans = [r[1] for r in seen if r[0] == "plan"]
    bounds = [r[1] for r in seen if r[0] == "bound"]
    assert plans and bounds and mip.status == "Optimal"
    assert all(len(p) <= 6 for p in plans)
    assert _lagrange.plan_value(A, w, plans[-1]) == pytest.approx(ref)
    assert min(bounds) >= ref - 1e-6


def test_a_killed_solve_keeps_its_last_plan_and_least_bound(monkeypatch):
    """HiGHS stopped past its limit: the plan is the last it reported, the bound the least,
    the nodes the last count, and the status says it was stopped."""
    A, w, _ = clustered_instance(17, False)
    reports = [("plan", np.array([0, 2])), ("bound", 9e9, 3), ("plan", np.array([1, 2, 5])),
               ("bound", 8e9, 5)]  # fmt: skip

    def killed(solve, **kwargs):
        return _watchdog.Outcome(None, list(reports), True)

    monkeypatch.setattr(_watchdog, "run", killed)
    mip = _exact._solve_mip(A, w, k=8, budget=None, costs=None, start=np.array([3]),
                            time_limit_s=1)  # fmt: skip
    assert mip.chosen.tolist() == [1, 2, 5]
    assert mip.value == _lagrange.plan_value(A, w, np.array([1, 2, 5]))
    assert (mip.dual_bound, mip.nodes) == (8e9, 5)
    assert "stopped past its limit" in mip.status
    # nothing reported: the start plan and no bound
    monkeypatch.setattr(_watchdog, "run", lambda solve, **kw: _watchdog.Outcome(None, [], True))
    mip = _exact._solve_mip(A, w, k=8, budget=None, costs=None, start=np.array([3]),
                            time_limit_s=1)  # fmt: skip
    assert mip.chosen.tolist() == [3] and mip.dual_bound == float("inf")


@pytest.mark.parametrize("far", [float("inf"), 1e30])
def test_no_deadline(far):
    """An infinite or astronomically far deadline waits for the solve (``poll`` cannot)."""
    out = _watchdog.run(lambda report: "done", deadline=time.perf_counter() + far)
    assert (out.result, out.killed) == ("done", False)


def test_an_interrupt_here_stops_the_child(monkeypatch):
    """Ctrl-C while waiting (KeyboardInterrupt in poll): raised at once, the child killed,
    not waited for until its own solve ends."""
    from multiprocessing.connection import Connection

    def interrupted(self, timeout=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Connection, "poll", interrupted)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        _watchdog.run(_slow, deadline=t0 + 60)
    assert time.perf_counter() - t0 < 5
