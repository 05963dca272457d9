"""tensorir-opt: every pass has a lit test, the lit suite passes, and the
command line's behaviour (order of passes, stages, dumps, --import, exit
codes and messages) run in-process through ``main(argv)``."""

from __future__ import annotations

import doctest
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorir as ti
from tensorir import passes
from tensorir.dialects._bindings import ir, walk
from tensorir.passes import Pass
from tensorir.tools import catalog
from tensorir.tools.diagnostics import UsageError
from tensorir.tools.importer import load_function, parse_args_spec
from tensorir.tools import opt as opt_module
from tensorir.tools.opt import main, stage_of

REPO = Path(__file__).resolve().parents[1]
IR_TESTS = REPO / "tests" / "ir"
MODEL = IR_TESTS / "Inputs" / "model.py"

TINY = """\
func.func public @tiny(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%1, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}
"""

MARKED = """\
func.func public @g(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.wrt"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  %3 = "tir.grad"(%2, %0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}
"""


def opt(argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.mlir"
    path.write_text(TINY)
    return str(path)


@pytest.fixture
def marked(tmp_path: Path) -> str:
    path = tmp_path / "marked.mlir"
    path.write_text(MARKED)
    return str(path)


# ---------------------------------------------------------------------------
# Lit


def _run_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if "RUN:" in line]


@pytest.mark.parametrize("argument", sorted(catalog.runnable()))
def test_every_pass_has_a_lit_test(argument: str) -> None:
    """CONVENTIONS.md: pass tir-x of passes/x.py is tested by tests/ir/x.mlir, through tensorir-opt."""
    p = catalog.runnable()[argument]
    path = IR_TESTS / catalog.lit_test_name(p)
    assert path.is_file(), f"pass {argument} ({p.run.__module__}) has no lit test {path.relative_to(REPO)}"
    named = re.compile(rf"(--{re.escape(argument)}\b|[(,]\s*{re.escape(argument)}\s*[,)])")
    runs = [r for r in _run_lines(path) if "tensorir-opt" in r and named.search(r)]
    assert runs, f"no RUN line of {path.relative_to(REPO)} runs tensorir-opt with --{argument}"


def test_lit_suite_passes() -> None:
    """Every .mlir test under tests/ir passes (lit + FileCheck through tensorir-opt)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import lit.main; lit.main.main()", "-q", str(IR_TESTS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"lit failed:\n{proc.stdout}\n{proc.stderr}"


def test_console_script_and_module_entry_point() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert 'tensorir-opt = "tensorir.tools.opt:main"' in text
    proc = subprocess.run(
        [sys.executable, "-m", "tensorir.tools.opt", "--list-passes"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "--tir-dce" in proc.stdout, proc.stderr


# ---------------------------------------------------------------------------
# Passes and pipelines


def test_list_passes_shows_every_pass_and_pipeline(capsys) -> None:
    code, out, _ = opt(["--list-passes"], capsys)
    assert code == 0
    for argument, p in catalog.runnable().items():
        assert re.search(rf"^  --{re.escape(argument)} +{re.escape(p.description)}$", out, re.M), argument
    for name, steps in passes.PIPELINES.items():
        assert re.search(rf"^  {name} +{re.escape(', '.join(steps))}$", out, re.M), name


def test_a_newly_registered_pass_is_a_flag(capsys, monkeypatch, tiny) -> None:
    seen: list[str] = []
    monkeypatch.setitem(passes.PASSES, "tir-test-count", Pass("tir-test-count", lambda op: seen.append(op.name), "count"))
    code, out, _ = opt(["--list-passes"], capsys)
    assert code == 0 and re.search(r"^  --tir-test-count +count$", out, re.M)
    code, _, _ = opt([tiny, "--tir-test-count", "--tir-dce", "--tir-test-count"], capsys)
    assert code == 0 and seen == ["builtin.module", "builtin.module"]


def test_flags_run_in_command_line_order(capsys, tiny) -> None:
    # dce first: the dead exp never reaches linalg; dce after lowering finds no tir op to drop.
    _, first, _ = opt([tiny, "--tir-dce", "--tir-to-linalg"], capsys)
    _, last, _ = opt([tiny, "--tir-to-linalg", "--tir-dce"], capsys)
    assert first.count("linalg.generic") == 2
    assert last.count("linalg.generic") == 3
    assert "tir." not in first and "tir." not in last


def test_pass_pipeline_mixes_tir_and_upstream_passes(capsys, tiny) -> None:
    code, out, _ = opt([tiny, "--pass-pipeline=builtin.module(tir-dce, tir-to-linalg ,func.func(canonicalize,cse))"], capsys)
    assert code == 0
    assert out.count("linalg.generic") == 2 and "tir." not in out


def test_named_pipeline_as_flag_and_step(capsys, marked) -> None:
    _, by_flag, _ = opt([marked, "--tir-pipeline=fast_run"], capsys)
    _, by_step, _ = opt([marked, "--pass-pipeline=builtin.module(fast_run)"], capsys)
    _, by_passes, _ = opt([marked, *(f"--{a}" for a in passes.PIPELINES["fast_run"])], capsys)
    assert by_flag == by_step == by_passes
    assert "tir.grad" not in by_flag and "tir.wrt" not in by_flag


def test_print_ir_before_and_after_a_pass(capsys, tiny) -> None:
    code, out, err = opt([tiny, "--tir-dce", "--cse", "--print-ir-after=tir-dce", "--print-ir-before=cse"], capsys)
    assert code == 0
    after = err.index("// -----// IR Dump After tir-dce (tir-dce) //----- //")
    before = err.index("// -----// IR Dump Before cse (cse) //----- //")
    assert after < before and err.count("IR Dump") == 2
    assert "tir.exp" not in err[after:before]
    assert '"tir.mul"' in out


def test_stdin_output_file_and_generic_form(capsys, monkeypatch, tmp_path) -> None:
    dest = tmp_path / "out.mlir"
    code, out, _ = opt(["-", "--tir-dce", "-o", str(dest), "--mlir-print-op-generic"], capsys, TINY, monkeypatch)
    assert code == 0 and out == ""
    text = dest.read_text()
    assert '"func.func"()' in text and '"tir.exp"' not in text and '"tir.add"' in text


# ---------------------------------------------------------------------------
# Stages


def test_emit_stages(capsys, tiny, tmp_path) -> None:
    for stage, expected in [("tir", "tir"), ("linalg", "linalg"), ("bufferized", "bufferized"), ("llvm", "llvm")]:
        code, out, _ = opt([tiny, f"--emit={stage}"], capsys)
        assert code == 0
        with ti.dialects.new_context():
            assert stage_of(ir.Module.parse(out).operation) == expected, stage
    # Stages the input is already past are skipped: bufferized IR lowers on to LLVM.
    buffers = tmp_path / "bufferized.mlir"
    _, text, _ = opt([tiny, "--emit=bufferized"], capsys)
    buffers.write_text(text)
    _, from_buffers, _ = opt([str(buffers), "--emit=llvm"], capsys)
    _, direct, _ = opt([tiny, "--emit=llvm"], capsys)
    assert from_buffers == direct
    code, llvm_ir, _ = opt([tiny, "--emit=llvm-ir"], capsys)
    assert code == 0 and llvm_ir.startswith("; ModuleID") and "define void @tiny(" in llvm_ir
    code, asm, _ = opt([tiny, "--emit=asm"], capsys)
    assert code == 0 and re.search(r"^tiny:$", asm, re.M)


def test_emit_matches_jit_lowering(capsys) -> None:
    """--import + the default pipeline + --emit gives the IR @jit compiles."""
    args = "float32[?,?],float32[?,?],float32[?,?]"
    arrays = parse_args_spec(args)
    grad_loss = load_function(f"{MODEL}:grad_loss")
    lowered = grad_loss.lower(*arrays)
    for stage in ("tir", "llvm-ir"):
        extra = ["--tir-pipeline=fast_run"] if stage != "tir" else []
        code, out, _ = opt(["--import", f"{MODEL}:grad_loss", "--args", args, *extra, f"--emit={stage}"], capsys)
        assert code == 0
        assert out.strip() == lowered.as_text(stage).strip(), stage


def test_split_input_file(capsys, monkeypatch) -> None:
    text = TINY + "// -----\n" + "func.func @bad(%a: tensor<3xf32>) -> tensor<f32> {\n  return %a : tensor<3xf32>\n}\n"
    text += "// -----\n" + "func.func @empty() {\n  return\n}\n"
    code, out, err = opt(["-", "--split-input-file", "--tir-dce"], capsys, text, monkeypatch)
    assert code == 1
    parts = out.split("// -----\n")
    assert len(parts) == 2 and "@tiny" in parts[0] and "@empty" in parts[1]
    # line numbers are those of the whole input
    assert "<stdin>:9:3: error: type of return operand 0 ('tensor<3xf32>') doesn't match" in err


# ---------------------------------------------------------------------------
# --import


def test_import_prints_the_traced_tir(capsys) -> None:
    code, out, _ = opt(["--import", f"{MODEL}:loss", "--args", "float32[3,1],float32[?,3],float32[?,1]"], capsys)
    assert code == 0
    expected = ti.jit(load_function(f"{MODEL}:loss")).lower(
        np.zeros((3, 1), np.float32), np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32)
    )
    assert out.strip() == expected.as_text("tir").strip()
    assert "tensor<?x1xf32>" in out  # a dim of 1 is static, others free


def test_args_spec() -> None:
    arrays = parse_args_spec("float32[?,784], int64[], bool[1,?]")
    assert [(a.dtype.name, a.shape) for a in arrays] == [("float32", (2, 784)), ("int64", ()), ("bool", (1, 2))]
    assert parse_args_spec("") == []


@pytest.mark.parametrize(
    "spec, message",
    [
        ("float16[?]", "argument 0 has dtype 'float16'; choose one of bool, int32, int64, float32, float64"),
        ("float32[?,n]", "argument 0 'float32[?,n]' has dim 'n'; a dim is '?' or a size such as 784"),
        ("float32[?],,int64", "argument 1 '' is not dtype[dims]"),
        ("float32(3)", "argument 0 'float32(3)' is not dtype[dims]"),
    ],
)
def test_bad_args_spec(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_args_spec(spec)


# ---------------------------------------------------------------------------
# Bad input: a message, an exit code, no traceback


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["--tir-bogus"], 2, "'tir-bogus' does not refer to a registered pass or pass pipeline"),
        (["--tir-dc"], 2, "did you mean tir-dce?"),
        (["--pass-pipeline=builtin.module(tir-dce"], 2, "malformed pass pipeline: missing ')' at column 23"),
        (["--pass-pipeline=builtin.module(tir-dce))"], 2, "malformed pass pipeline: unbalanced ')' at column 24"),
        (["--pass-pipeline=builtin.module(tir-dce,,cse)"], 2, "malformed pass pipeline: empty pipeline element"),
        (["--pass-pipeline=builtin.module(func.func(tir-dce))"], 2, "tir-dce is a tir pass: tir passes run on the whole module"),
        (["--tir-dce", "--pass-pipeline=builtin.module(cse)"], 2, "give passes either as flags (--tir-dce) or as --pass-pipeline, not both"),
        (["--tir-dce=fast"], 2, "--tir-dce=fast: tir pass tir-dce takes no options"),
        (["--tir-pipeline=bogus"], 2, "no pipeline named 'bogus'; choose one of fast_compile, fast_run, none"),
        (["--tir-dce", "--print-ir-after=cse"], 2, "--print-ir-after=cse: the pipeline has no top-level step cse (its steps: tir-dce)"),
        (["--emit=ptx"], 1, "--emit=ptx: lowering failed: tir.wrt is a differentiation marker"),
        (["--emit=cuda"], 2, "argument --emit: invalid choice: 'cuda'"),
        (["--args", "float32[?]"], 2, "--args gives the argument types of --import MODULE:FUNCTION"),
        (["--tir-to-linalg"], 1, "pass tir-to-linalg failed: tir.wrt is a differentiation marker and has no lowering: run the tir-autodiff pass before tir-to-linalg"),
        (["--emit=llvm"], 1, "--emit=llvm: lowering failed: tir.wrt is a differentiation marker"),
    ],
)
def test_bad_command_lines(capsys, marked, argv: list[str], code: int, message: str) -> None:
    got, _, err = opt([marked, *argv], capsys)
    assert got == code
    assert err.startswith("tensorir-opt: error: ")
    assert message in err


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["--import", "nomodule_xyz:f", "--args", "float32[?]"], 2, "cannot find module 'nomodule_xyz'"),
        (["--import", f"{MODEL}:nothing", "--args", "float32[?]"], 2, "has no attribute 'nothing'"),
        (["--import", f"{MODEL}", "--args", "float32[?]"], 2, "expected module:function"),
        (["--import", f"{MODEL}:ti", "--args", "float32[?]"], 2, "ti is not a function (found module)"),
        (["--import", f"{MODEL}:loss"], 2, "--import needs --args"),
        (["--import", f"{MODEL}:loss", "--args", "float32[?,?],float32[?,?]"], 1, "tracing loss on --args 'float32[?,?],float32[?,?]' raised"),
        (["--import", f"{MODEL}:predict", "--args", "float32[?,?],float32[]"], 1, "raised ShapeError: matmul needs operands of rank >= 1"),
        (["--import", f"{MODEL}:broken", "--args", "float32[?]"], 1, "raised AttributeError: 'Variable' object has no attribute 'nonexistent' (at "),
    ],
)
def test_bad_import(capsys, argv: list[str], code: int, message: str) -> None:
    got, _, err = opt(argv, capsys)
    assert got == code and message in err, err


def test_missing_file(capsys, tmp_path) -> None:
    code, _, err = opt([str(tmp_path / "none.mlir")], capsys)
    assert code == 1 and err == f"tensorir-opt: error: cannot read {tmp_path / 'none.mlir'}: no such file\n"


def test_parse_error_has_location(capsys, monkeypatch) -> None:
    code, out, err = opt(["-"], capsys, "func.func @f() {\n  %0 = \"tir.nope\"() : () -> f32\n  return\n}\n", monkeypatch)
    assert code == 1 and out == ""
    assert err.startswith("tensorir-opt: error: invalid input IR in <stdin>:\n<stdin>:2:8: error: unregistered operation 'tir.nope'")


def test_type_rule_violation_has_location(capsys, monkeypatch) -> None:
    text = TINY.replace('"tir.add"(%1, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>', '"tir.add"(%1, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xi32>')
    text = text.replace("return %2 : tensor<?xf32>", "%3 = \"tir.cast\"(%2) {dtype = f32} : (tensor<?xi32>) -> tensor<?xf32>\n  return %3 : tensor<?xf32>")
    code, _, err = opt(["-"], capsys, text, monkeypatch)
    assert code == 1
    assert "<stdin>:4:8: error: 'tir.add' result 0 has type tensor<?xi32>, but its type rule gives tensor<?xf32>" in err


def _module_ops(op: ir.Operation, name: str) -> list[ir.Operation]:
    return walk(op, [name])


def test_failing_and_breaking_passes(capsys, monkeypatch, tiny) -> None:
    def raises(op: ir.Operation) -> None:
        raise ZeroDivisionError("boom")

    def bad_tir(op: ir.Operation) -> None:  # declares a float result integer
        _module_ops(op, "tir.exp")[0].results[0].set_type(ir.RankedTensorType.get([-(2**63)], ir.IntegerType.get_signless(32)))

    def bad_return(op: ir.Operation) -> None:  # a type the tir rule allows but func.return does not
        _module_ops(op, "tir.add")[0].results[0].set_type(ir.RankedTensorType.get([3], ir.F32Type.get()))

    for name, fn in [("tir-test-raises", raises), ("tir-test-bad-tir", bad_tir), ("tir-test-bad-return", bad_return)]:
        monkeypatch.setitem(passes.PASSES, name, Pass(name, fn, "test"))
    code, _, err = opt([tiny, "--tir-test-raises"], capsys)
    assert code == 1 and err == "tensorir-opt: error: pass tir-test-raises failed: ZeroDivisionError: boom\n"
    code, _, err = opt([tiny, "--tir-test-bad-tir"], capsys)
    assert code == 1 and err.startswith("tensorir-opt: error: pass tir-test-bad-tir produced invalid tir:\n")
    assert "tiny.mlir:2:8: error: 'tir.exp' result 0 has type tensor<?xi32>, but its type rule gives tensor<?xf32>" in err
    code, _, err = opt([tiny, "--tir-test-bad-return"], capsys)
    assert code == 1 and err.startswith("tensorir-opt: error: the pass pipeline failed:\n")
    assert "tiny.mlir:5:3: error: type of return operand 0 ('tensor<3xf32>') doesn't match function result type" in err


def test_help(capsys) -> None:
    code, out, _ = opt(["--help"], capsys)
    assert code == 0 and out.startswith("usage: tensorir-opt")


def test_internal_errors_are_reported_without_traceback(capsys, monkeypatch, tiny) -> None:
    def broken_emit(*args: object) -> str:
        raise KeyError("stage")

    monkeypatch.setattr(opt_module, "emit", broken_emit)
    code, _, err = opt([tiny], capsys)
    assert code == 1
    assert err.startswith("tensorir-opt: error: internal error (KeyError: 'stage'); please report it")


def test_docstring_example() -> None:
    result = doctest.testmod(opt_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted == 1
