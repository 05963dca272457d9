"""The first-call rows of ``run.py``: how long a fresh process waits for the
first result of the MLP training step of ``mlp_rows.py``.

Each figure is one child process (``python first_call.py SYSTEM SIZE``)
that imports everything, builds the data, and then times building the step
and calling it once (graph construction, optimisation, code generation and
the call; imports are not counted). Twice per system:

* cold: the system's compilation cache points at an empty temporary
  directory (tensorir: ``TENSORIR_FLAGS=compiledir=<tmp>``; JAX: its
  persistent compilation cache; PyTensor: ``base_compiledir``), so
  everything is compiled;
* warm: a second process with the same directory, which may load what the
  first one stored.

NumPy and PyTorch (eager) compile nothing: their two figures are two fresh
processes. PyTensor is measured warm only, from its usual cache directory:
compiling its C code from nothing takes tens of seconds, too long for a run
of a few minutes. The quick run measures tensorir and NumPy only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from harness import Goal, Row, installed, progress

HERE = os.path.dirname(os.path.abspath(__file__))


def _child(system: str, size: str) -> None:
    """Runs in the child: print ``{"seconds": ...}`` for building the step and its first call."""
    import numpy as np

    import mlp_rows
    from harness import optional

    if optional(system) is None and system not in ("tensorir", "numpy"):
        raise SystemExit(f"{system} does not import")
    if system == "pytensor":
        optional("pytensor.tensor")
    params, x, y = mlp_rows.mlp_data(mlp_rows.QUICK if size == "quick" else mlp_rows.FULL)
    start = time.perf_counter()
    step, args, _ = mlp_rows.TRAINERS[system](params, x, y)
    loss = float(np.asarray(step(*args)))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "loss": loss}))


def _env(system: str, cache: str | None) -> dict[str, str]:
    """The child's environment: ``cache`` (a directory) as the system's compilation cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    if cache is None:
        return env
    if system == "tensorir":
        flags = env.get("TENSORIR_FLAGS", "")
        env["TENSORIR_FLAGS"] = (flags + "," if flags else "") + f"compiledir={cache}"
    elif system == "jax":
        env["JAX_COMPILATION_CACHE_DIR"] = cache
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    elif system == "pytensor":
        flags = env.get("PYTENSOR_FLAGS", "")
        env["PYTENSOR_FLAGS"] = (flags + "," if flags else "") + f"base_compiledir={cache}"
    return env


def first_call(system: str, quick: bool, cache: str | None) -> float:
    """Seconds to the first result of the training step in a fresh process."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), system, "quick" if quick else "full"],
                          capture_output=True, text=True, env=_env(system, cache), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"first call on {system} failed:\n{proc.stderr[-2000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])


def first_call_rows(quick: bool) -> tuple[list[Row], list[str]]:
    """The cold and warm rows (tensorir's goals: 0.5 s and 0.1 s), and notes on cells left out."""
    cold: dict[str, float] = {}
    warm: dict[str, float] = {}
    notes = []
    for system in ("tensorir", "numpy", *([] if quick else installed())):
        try:
            with tempfile.TemporaryDirectory(prefix=f"tensorir-bench-{system}-") as tmp:
                if system == "pytensor":
                    warm[system] = first_call(system, quick, None)
                    notes.append("pytensor: first call, cold: not measured (compiling its C code from an empty "
                                 "compiledir takes tens of seconds); warm: from its usual compiledir")
                else:
                    cold[system] = first_call(system, quick, tmp)
                    warm[system] = first_call(system, quick, tmp)
            progress(f"first call, {system}")
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            if system == "tensorir":
                raise
            notes.append(f"{system}: first call: left out ({str(err).splitlines()[0]})")
    return [
        Row("mlp step first call, cold (empty cache)", cold, Goal(seconds=0.5), "s"),
        Row("mlp step first call, warm (disk cache)", warm, Goal(seconds=0.1), "s"),
    ], notes


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
