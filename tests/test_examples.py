"""The examples run and reach what they claim."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_digits_softmax_regression_learns() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "src"), *sys.path])}
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "digits_softmax.py")],
        env=env, capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", out)]
    assert losses[0] > 2.3 and losses[-1] < 0.35 and losses == sorted(losses, reverse=True)
    accuracy = float(re.search(r"accuracy on \d+ digits: (\d\.\d+) \(1 compile\)", out).group(1))
    assert accuracy > 0.85
