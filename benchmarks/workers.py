"""One process per system: the parent hands out timing turns, each system's
worker process builds, checks and times its own kernels.

The parent (``run.py``) starts one worker per system (:class:`Workers`):
``python workers.py SYSTEM``, which imports only that system's library
(the JAX worker never imports PyTorch or PyTensor, the NumPy worker not
even tensorir) and then serves requests, one pickled tuple at a time on
its stdin, replying on what was its stdout (the library's own prints go to
stderr). For each row (:meth:`Workers.measure`):

1. the parent makes the row's inputs and float64 reference once
   (``module.prepare``) and writes them to one ``.npz`` file, so every
   system gets the same arrays;
2. each worker loads them, rebuilds its kernel from picklable data
   (``module.kernel(key, quick, system, data)``), checks one call against
   the reference and makes one warm-up call; an optional system that fails
   is left out of the row with a note, tensorir or NumPy failing stops
   the run;
3. the parent runs the rounds of :func:`harness.interleaved`: per round it
   asks each worker in turn (the order rotating) to time ``number`` calls
   and report the seconds. Meanwhile the other workers wait on their pipe,
   so the timed process holds no other system's threads at all.

The workers live for the whole run (one import of each library, not one
per row); each lets go of its previous row's kernel before building the
next.
"""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
import types
from typing import Any, BinaryIO

import numpy as np

import harness
from harness import OPTIONAL, SYSTEMS, Row, Spec, interleaved, progress

HERE = os.path.dirname(os.path.abspath(__file__))

# The modules a worker imports for its system (NumPy's is imported by all).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "tensorir": ("tensorir",), "numpy": (), "pytensor": ("pytensor", "pytensor.tensor"),
    "jax": ("jax",), "torch": ("torch",),
}


def _first_line(err: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def _libraries_loaded() -> tuple[str, ...]:
    """Which systems' libraries (beyond NumPy) this process has imported."""
    return tuple(name for name in SYSTEMS if name != "numpy" and name in sys.modules)


# ---------------------------------------------------------------------------
# The worker process


def serve(system: str) -> int:
    """Run as ``python workers.py SYSTEM``: import the system, reply ``("ready",
    pid)`` (or ``("unavailable", why)`` and exit), then answer requests until
    ``("exit",)`` or the end of stdin:

    * ``("build", module, key, quick, path)``: load the arrays of ``path``,
      build, check and warm up the kernel; ``("built", facts)`` or
      ``("failed", why, traceback)``;
    * ``("time", number)``: ``("took", seconds, pid)`` for ``number`` calls.
    """
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the libraries print goes to stderr, not into the replies
    requests = sys.stdin.buffer

    def reply(*message: Any) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        for name in LIBRARIES[system]:
            harness._MODULES[name] = importlib.import_module(name)
    except Exception as err:  # noqa: BLE001 - an optional system that does not import
        reply("unavailable", _first_line(err))
        return 0
    reply("ready", os.getpid())
    turn = None
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return 0
        if request[0] == "build":
            turn = None
            gc.collect()
            try:
                turn, facts = _build(system, *request[1:])
            except Exception as err:  # noqa: BLE001 - reported to the parent, which decides
                reply("failed", _first_line(err), traceback.format_exc())
                continue
            reply("built", facts)
        elif request[0] == "time":
            if turn is None:
                reply("failed", "RuntimeError: no kernel built", "")
                continue
            reply("took", turn(request[1]), os.getpid())
        elif request[0] == "exit":
            return 0


def _build(system: str, module: str, key: str, quick: bool, path: str) -> tuple[harness.Turn, dict[str, Any]]:
    """The turn of ``system``'s kernel of row ``key`` of ``module``, checked
    and warmed up, and facts for the parent: the libraries loaded here and,
    for PyTensor, how it ran what it compiled."""
    with np.load(path) as stored:
        data = {name: stored[name] for name in stored.files}
    fn, args, verify = importlib.import_module(module).kernel(key, quick, system, data)
    verify(system, fn(*args))
    fn(*args)  # warm-up: caches, first-call work, the verified result freed
    facts = {"libraries": _libraries_loaded(), "pytensor": harness.pytensor_facts()}
    return harness.calls(fn, args), facts


# ---------------------------------------------------------------------------
# The parent's side


class WorkerDied(RuntimeError):
    """A worker process ended without replying (it crashed or was killed)."""


class Worker:
    """The parent's handle on one system's worker process."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.pid: int | None = None  # the worker's own os.getpid(), once ready
        self.libraries: tuple[str, ...] = ()  # systems' libraries it had loaded at its last build
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "workers.py"), system],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, *message: Any) -> None:
        stdin: BinaryIO = self.proc.stdin  # type: ignore[assignment]
        try:
            pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except BrokenPipeError:
            raise WorkerDied(f"the {self.system} worker exited (status {self.proc.wait()})") from None

    def receive(self) -> tuple:
        try:
            return pickle.load(self.proc.stdout)  # type: ignore[arg-type]
        except EOFError:
            raise WorkerDied(f"the {self.system} worker exited (status {self.proc.wait()})") from None

    def turn(self, number: int) -> float:
        """Seconds for ``number`` calls of the kernel, timed in the worker."""
        self.send("time", number)
        answer = self.receive()
        if answer[0] != "took":
            raise RuntimeError(f"{self.system} worker: timing failed: {answer[1]}")
        self.pid = answer[2]
        return answer[1]

    def close(self) -> None:
        """Ask the worker to exit and wait for it (a second call does nothing)."""
        stdin = self.proc.stdin
        if stdin is not None and not stdin.closed:
            try:
                self.send("exit")
            except WorkerDied:
                pass
            try:
                stdin.close()
            except OSError:  # the worker has gone: what was buffered cannot be written
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Workers:
    """One worker process per system in ``systems``, for a whole run; a context manager.

    The workers start together; those of optional systems that do not import
    end at once, and :func:`harness.installed` then names the ones that did.
    tensorir or NumPy not importing raises ``RuntimeError``.
    """

    def __init__(self, systems: tuple[str, ...] = SYSTEMS) -> None:
        started = [Worker(name) for name in systems]
        self.workers: dict[str, Worker] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="tensorir-bench-")
        try:
            for worker in started:
                answer = worker.receive()
                if answer[0] == "ready":
                    worker.pid = answer[1]
                    self.workers[worker.system] = worker
                elif worker.system in OPTIONAL:
                    worker.close()
                else:
                    raise RuntimeError(f"the {worker.system} worker cannot start: {answer[1]}")
        except BaseException:
            for worker in started:
                worker.close()
            self._tmp.cleanup()
            raise
        harness._INSTALLED = [name for name in OPTIONAL if name in self.workers]

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self.workers.clear()
        self._tmp.cleanup()

    def rows(self, module: types.ModuleType, quick: bool, rounds: int) -> list[Row]:
        """Every row of a row module (``specs``, ``prepare``, ``kernel``), measured."""
        return [self.measure(spec, module.prepare(spec.key, quick)) for spec in module.specs(quick, rounds)]

    def measure(self, spec: Spec, data: dict[str, np.ndarray]) -> Row:
        """Build and check ``spec``'s kernel in every worker it applies to, on the
        arrays ``data`` (inputs and reference), then time them in interleaved rounds."""
        path = os.path.join(self._tmp.name, "data.npz")
        np.savez(path, **data)
        names = [name for name in self.workers if spec.systems is None or name in spec.systems]
        answers: dict[str, tuple] = {}
        for name in names:  # all build at once; each replies when its kernel is checked
            try:
                self.workers[name].send("build", spec.module, spec.key, spec.quick, path)
            except WorkerDied as err:
                answers[name] = ("failed", str(err), "")
        built = []
        for name in names:
            worker = self.workers[name]
            try:
                answer = answers.get(name) or worker.receive()
            except WorkerDied as err:
                answer = ("failed", str(err), "")
            if answer[0] == "failed" and worker.proc.poll() is not None:
                del self.workers[name]  # it died: no later row asks it again
            if answer[0] == "built":
                worker.libraries = answer[1]["libraries"]
                if answer[1]["pytensor"]:
                    harness.add_pytensor_facts(answer[1]["pytensor"])
                built.append(name)
            elif name in OPTIONAL:
                harness.left_out(name, spec.label, answer[1])
            else:
                raise RuntimeError(f"{name}: {spec.label}: {answer[1]}\n{answer[2]}")
        os.unlink(path)
        times = interleaved({name: self.workers[name].turn for name in built}, spec.rounds, spec.number)
        progress(spec.label)
        pids = {name: self.workers[name].pid or 0 for name in built}
        return Row(spec.label, times, spec.goal, spec.unit, spec.flops, spec.bytes, pids=pids)


def row_main(module: str, argv: list[str] | None = None) -> int:
    """``python benchmarks/<module>.py [--quick] [--rounds N]``: that row module's
    one row alone, each system's time and rate."""
    import argparse

    rows = importlib.import_module(module)  # under the name the workers import it by
    parser = argparse.ArgumentParser(description=(rows.__doc__ or module).split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (min is kept)")
    opts = parser.parse_args(argv)
    with Workers() as pool:
        (row,) = pool.rows(rows, opts.quick, opts.rounds or (2 if opts.quick else 7))
    print(row.label)
    for name, t in row.times.items():
        print(f"  {name:10s} {t * 1e3:9.3f} ms  ({row.flops / t / 1e9:.1f} GFLOP/s)")
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
