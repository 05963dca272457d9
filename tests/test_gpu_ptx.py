"""--emit=ptx: the PTX the GPU recipe makes (lowering/gpu.py) is valid sm_90
PTX, assembled by ptxas (CUDA's assembler) with no GPU present."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _opt(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tensorir.tools.opt", *argv], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="needs CUDA's ptxas on PATH")
@pytest.mark.parametrize("argv", [
    ["tests/ir/gpu.mlir"],
    # the gradient of an MLP-like loss, optimised, as a user would inspect it
    ["--import", "tests/ir/Inputs/model.py:grad_loss", "--args", "float32[784,10],float32[?,784],float32[?,10]",
     "--tir-pipeline=fast_run"],
])
def test_ptx_assembles_for_sm_90(argv: list[str], tmp_path: Path) -> None:
    proc = _opt(*argv, "--emit=ptx")
    assert proc.returncode == 0, proc.stderr
    parts = proc.stdout.split("// -----\n")
    assert len(parts) == 1  # the kernels of a function share one module
    for k, part in enumerate(parts):
        assert part.startswith("// gpu.module @") and ".target sm_90" in part and ".visible .entry" in part
        ptx = tmp_path / f"k{k}.ptx"
        ptx.write_text(part)
        done = subprocess.run(["ptxas", "-arch=sm_90", "-o", str(tmp_path / f"k{k}.cubin"), str(ptx)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"kernel {k}: {done.stderr}"
        assert (tmp_path / f"k{k}.cubin").stat().st_size > 0
    if argv[0] == "--import":
        assert parts[0].count(".visible .entry") >= 3  # the gradient's elementwise parts and contractions
