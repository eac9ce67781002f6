"""Progress of ``blankspot plan`` / ``demo``: a bar per stage on a terminal, plain lines otherwise.

On a terminal every stage gets its own tqdm bar, which stays on screen when the stage ends
(its time and, where the stage counts something, files or provinces done). Elsewhere (a log
file, a pipe, CI) each stage writes one line when it starts and one when it ends. ``--quiet``
writes nothing. tqdm is imported only when a terminal shows a bar.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

#: seconds between two redraws of a running stage's bar (its clock keeps moving)
REFRESH_S = 0.5


class Stages:
    """The stages of one run, shown as they start and end.

    Parameters
    ----------
    names
        Every stage, in order (``[3/8]`` is the third of eight).
    quiet
        Show nothing.
    stream
        Where to write (the CLI's ``sys.stderr``); a bar only when it is a terminal.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> stages = Stages(["read", "assess"], quiet=False, stream=out)
    >>> with stages.stage("read", total=2, unit="file") as tick:
    ...     tick()
    ...     tick()
    >>> print(out.getvalue().splitlines()[0])
    blankspot: [1/2] read ...
    >>> out.getvalue().splitlines()[1].startswith("blankspot: [1/2] read: done in ")
    True
    """

    def __init__(self, names: Sequence[str], *, quiet: bool, stream: TextIO) -> None:
        self.names = list(names)
        self.quiet = quiet
        self.stream = stream
        self.tty = not quiet and _isatty(stream)
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(
        self, name: str, *, total: int | None = None, unit: str = "step"
    ) -> Iterator[Callable[[], None]]:
        """Run a stage; the yielded ``tick()`` counts one of its ``total`` units done."""
        i = self.names.index(name) + 1 if name in self.names else len(self.names)
        label = f"[{i}/{len(self.names)}] {name}"
        done = [0]
        bar: Any = None
        stop = threading.Event()
        redraw: threading.Thread | None = None
        if self.tty:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=total or 1,
                desc=label,
                unit=unit,
                file=self.stream,
                leave=True,
                dynamic_ncols=True,
                bar_format=(
                    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit + "s "
                    "[{elapsed}]"
                    if total
                    else "{desc}: {bar} [{elapsed}]"
                ),
            )
            redraw = threading.Thread(target=_redraw, args=(bar, stop), daemon=True)
            redraw.start()
        elif not self.quiet:
            self.stream.write(f"blankspot: {label} ...\n")
            self.stream.flush()

        def tick() -> None:
            done[0] += 1
            if bar is not None:
                bar.update(1)

        t0 = time.perf_counter()
        try:
            yield tick
        finally:
            stop.set()
            if redraw is not None:
                redraw.join()
            elapsed = time.perf_counter() - t0
            self.timings[name] = elapsed
            if bar is not None:
                if not total:
                    bar.update(1)
                bar.close()
        if bar is None and not self.quiet:
            counted = f" ({done[0]} {unit}{'s' if done[0] != 1 else ''})" if total else ""
            self.stream.write(f"blankspot: {label}: done in {elapsed:.1f} s{counted}\n")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or stream-like object
        return False


def _redraw(bar: Any, stop: threading.Event) -> None:
    """Keep a running stage's clock moving on screen until the stage ends."""
    while not stop.wait(REFRESH_S):
        bar.refresh()


class LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The CLI's log handler: a line written while a bar is drawn goes above the bar.

    Written through ``tqdm.write`` when a bar is on screen (a plain write would be glued to
    the bar's line); otherwise an ordinary :class:`logging.StreamHandler`.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` above any progress bar on screen."""
        tq = sys.modules.get("tqdm")
        if tq is not None and len(getattr(tq.tqdm, "_instances", ())):
            try:
                tq.tqdm.write(self.format(record), file=self.stream)
            except Exception:  # logging never raises, as StreamHandler.emit
                self.handleError(record)
            return
        super().emit(record)
