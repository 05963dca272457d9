"""From a traced graph to a callable: the stages, top to bottom.

    traced graph --emit--> tir --tir passes--> tir (optimised)
      --tir-to-linalg, tir-entry-abi--> linalg on tensors
      --bufferize--> linalg on buffers --lower--> LLVM dialect
      --translate--> LLVM IR --llvmlite O3 + MCJIT--> machine code

:func:`lower` keeps the text of every stage for inspection;
:func:`compile_traced` runs the same stages and wraps the machine code in an
:class:`Executable` that checks argument shapes, allocates the results and
calls the kernel.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import astuple, dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .dialects import new_context
from .dialects._bindings import ir
from .dialects.types import Sym
from .errors import CompileError, IndexOutOfBoundsError, NonFiniteError, ShapeError
from .frontend.emit import emit_function
from .frontend.graph import SourceLoc
from .frontend.trace import Traced
from .lowering import cpu
from .lowering.checks import STATUS_SIZE, IndexCheck, check_table
from .config import config
from .passes import PIPELINES, pipeline_steps
from .runtime import cache
from .runtime.cpu import CompiledKernel, CpuCompiler, assembly
from .runtime.pool import POOL

# The MLIR dialect modules whose op builders the lowering uses, imported
# with tensorir rather than during the first compile (about 40 ms of
# building their op classes), as the compiler's other parts are.
for _module in ("arith", "bufferization", "func", "math", "memref", "scf", "tensor", "vector"):
    importlib.import_module(f"mlir.dialects.{_module}")
importlib.import_module(".dialects._upstream.linalg", __package__)

__all__ = ["STAGES", "Lowered", "Executable", "lower", "compile_traced"]

STAGES = ("tir", "tir-opt", "linalg", "bufferized", "llvm", "llvm-ir", "asm")

_compiler = CpuCompiler()


@dataclass
class Lowered:
    """The text of each compilation stage of one traced signature."""

    texts: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def as_text(self, stage: str = "tir", debug_info: bool = False) -> str:
        """IR at ``stage``: one of ``STAGES`` (for a GPU function,
        ``device.GPU_STAGES``). ``debug_info`` adds the user's source
        locations to the traced tir (``loc("file.py":12:0)``)."""
        stages = [k for k in self.texts if k != "tir+loc"]
        if stage not in stages:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(stages)}")
        if debug_info and stage == "tir" and "tir+loc" in self.texts:
            return self.texts["tir+loc"]
        return self.texts[stage]


def _entry_name(name: str) -> str:
    """Symbol of the compiled function: prefixed, so a user function called
    ``erf`` or ``sin`` cannot clash with the C library functions it calls."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "main"
    return "tir_" + safe


def _emit(traced: Traced, timings: dict[str, float]) -> tuple[ir.Context, ir.Module]:
    """A new context, and the traced graph emitted into it as a tir module."""
    ctx = new_context()
    with ctx, ir.Location.unknown():
        t = time.perf_counter()
        module = ir.Module.create()
        emit_function(module, _entry_name(traced.name), traced.inputs, traced.outputs, traced.updates)
        timings["emit"] = time.perf_counter() - t
    return ctx, module


def _run_stages(
    traced: Traced, pipeline: str, keep: bool, emitted: tuple[ir.Context, ir.Module] | None = None
) -> tuple[str | list[str], str, dict[str, str], dict[str, float], list[IndexCheck]]:
    """Emit (unless given the ``emitted`` module) and lower to LLVM IR;
    returns (llvm ir, entry name, texts, timings, the run-time index checks
    of the entry function). Unless ``keep``, the LLVM IR is a list of
    modules (``lowering.cpu.to_llvm_ir_parts``)."""
    texts: dict[str, str] = {}
    timings: dict[str, float] = {}
    entry = _entry_name(traced.name)
    ctx, module = emitted if emitted is not None else _emit(traced, timings)
    with ctx, ir.Location.unknown():
        if keep:
            texts["tir"] = _print(module)
            texts["tir+loc"] = module.operation.get_asm(enable_debug_info=True)

        def stage(name: str, fn: Callable[[ir.Module], None]) -> None:
            t0 = time.perf_counter()
            fn(module)
            timings[name] = time.perf_counter() - t0
            if keep:
                texts[name] = _print(module) if name != "llvm-ir" else texts[name]

        stage("tir-opt", lambda m: cpu.run_pipeline(m, pipeline_steps(pipeline), "the tir passes"))
        stage("linalg", cpu.lower_tir_to_linalg)
        checks = check_table(_find_entry(module, entry))
        stage("bufferized", lambda m: cpu.bufferize(m, reuse=config.inplace))
        stage("llvm", lambda m: cpu.lower_to_llvm_dialect(m, config.threads, config.parallel_minsize))
        t0 = time.perf_counter()
        # one module to show; to compile, parts that compile on one thread each
        llvm_ir = cpu.to_llvm_ir(module) if keep else cpu.to_llvm_ir_parts(module, config.threads)
        timings["llvm-ir"] = time.perf_counter() - t0
        texts["llvm-ir"] = llvm_ir if isinstance(llvm_ir, str) else "".join(llvm_ir)
    return llvm_ir, entry, texts, timings, checks


def _find_entry(module: ir.Module, entry: str) -> ir.Operation:
    for view in module.body.operations:
        op = view.operation
        if op.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
            return op
    raise CompileError(f"internal: the lowered module has no function @{entry}")


def _print(module: ir.Module) -> str:
    return module.operation.get_asm(enable_debug_info=False)


def lower(traced: Traced, pipeline: str = "fast_run") -> Lowered:
    _, _, texts, timings, _ = _run_stages(traced, pipeline, keep=True)
    texts["asm"] = assembly(texts["llvm-ir"])
    return Lowered(texts, timings)


class Executable:
    """Machine code for one signature, plus the Python glue of a call.

    ``run(arrays)`` is generated Python: it checks the shape equalities the
    trace recorded, allocates the outputs with NumPy (their shapes computed
    from the inputs' shapes) and calls the kernel, which fills them in place.
    Arrays must be C-contiguous and of the traced dtypes and ranks.
    ``call(args)`` is the same glue behind checks that the positional
    arguments of a jit call are of this signature: it returns the outputs in
    the traced structure, or :data:`MISS`. Results of a megabyte or more come
    from :mod:`tensorir.runtime.pool` while ``config.result_pool`` is on.
    ``checks``: the kernel's run-time index checks (``lowering/checks.py``).

    ``entry(head, returns, names)`` builds another entry over the same glue
    (``tensorir.function`` builds one that checks its inputs and reads its
    shared variables): a function of ``args`` that runs the lines ``head``,
    which must bind ``a{i}`` to the ``i``-th traced input (C-contiguous, of
    its traced dtype and rank) and ``s{i}`` to its shape when its rank is
    not 0, or ``return MISS``; then the glue, and ``return <returns>``, an
    expression over ``returned`` (the glue's names of the outputs that are
    not updates, in order). ``names``: the globals ``head`` uses besides
    ``MISS``.
    """

    def __init__(
        self,
        traced: Traced,
        kernel: CompiledKernel,
        timings: dict[str, float],
        check_finite: bool,
        checks: Sequence[IndexCheck] = (),
    ):
        self.kernel = kernel
        self.timings = timings
        self.out_tree = traced.out_tree
        self.arg_names = [s.name for s in traced.specs]
        self.check_finite = check_finite
        self.checks = list(checks)
        self.run, self.entry, self.returned = _make_runner(traced, kernel.call, check_finite, self.checks)
        self.call = _jit_entry(traced, self.entry, self.returned)


def compile_traced(traced: Traced, pipeline: str = "fast_run", check_finite: bool = False) -> Executable:
    """Machine code for ``traced``: compiled, or, while ``config.cache`` is on,
    loaded from the disk cache (``runtime/cache.py``) when a process compiled
    the same tir with the same settings before, and stored there otherwise.

    The Executable's ``cache`` says which: ``"hit"`` (loaded: no pass ran),
    ``"miss"`` (compiled and stored) or ``"off"``; ``timings["cache"]`` is
    the time spent looking up, loading and storing.
    """
    t = time.perf_counter()
    timings: dict[str, float] = {}
    emitted = _emit(traced, timings)
    returned = [v for k, v in enumerate(traced.outputs) if k not in traced.updates]
    ranks = [v.type.rank for v in traced.inputs + returned]
    disk = cache.DiskCache(config.compiledir) if config.cache else None
    key, cache_seconds = "", 0.0
    if disk is not None:
        t0 = time.perf_counter()
        key = _cache_key(emitted[1], pipeline, check_finite)
        found = _load_cached(disk, key, _entry_name(traced.name), ranks)
        cache_seconds = time.perf_counter() - t0
        if found is not None:
            timings["cache"] = cache_seconds
            timings["total"] = time.perf_counter() - t
            return _executable(traced, found[0], timings, check_finite, found[1], "hit")
    llvm_ir, entry, _, stage_timings, checks = _run_stages(traced, pipeline, keep=False, emitted=emitted)
    timings.update(stage_timings)
    kernel = _compiler.compile(llvm_ir, entry, ranks + ([1] if checks else []))
    timings["llvm-jit"] = kernel.compile_seconds
    if disk is not None:
        t0 = time.perf_counter()
        meta = {"entry": entry, "ranks": ranks, "libraries": list(kernel.libraries),
                "checks": [list(astuple(c)) for c in checks]}
        disk.save(key, kernel.object_code, meta)
        timings["cache"] = cache_seconds + time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t
    return _executable(traced, kernel, timings, check_finite, checks, "off" if disk is None else "miss")


def _executable(
    traced: Traced, kernel: CompiledKernel, timings: dict[str, float], check_finite: bool,
    checks: Sequence[IndexCheck], how: str,
) -> Executable:
    """An Executable whose ``cache`` attribute is ``how`` (see :func:`compile_traced`)."""
    exe = Executable(traced, kernel, timings, check_finite, checks)
    exe.cache = how
    return exe


# Settings that change no machine code, left out of the cache key; every
# other setting is in it, so a setting that lowering starts to read is too.
_NOT_IN_KEY = frozenset({"cache", "compiledir", "profile", "result_pool"})
# tir ops whose lowering records source lines in the compiled function (the
# index-check table of lowering/checks.py): the key of a module with one
# includes the locations of its ops.
_LOCATED_OPS = ("tir.dynamic_slice", "tir.dynamic_update_slice")


def _cache_key(module: ir.Module, pipeline: str, check_finite: bool) -> str:
    """The disk-cache key of an emitted tir module: its IR before any pass,
    the pipeline with its passes and the settings (``runtime/cache.py`` adds
    the versions and the host CPU)."""
    text = _print(module)
    if any(name in text for name in _LOCATED_OPS):
        text = module.operation.get_asm(enable_debug_info=True)
    settings = ",".join(f"{k}={v!r}" for k, v in sorted(vars(config).items()) if k not in _NOT_IN_KEY)
    passes = ",".join(PIPELINES.get(pipeline, ()))
    return cache.key(text, f"pipeline={pipeline}:{passes}", settings, f"check_finite={check_finite}")


def _load_cached(
    disk: cache.DiskCache, key: str, entry: str, ranks: list[int]
) -> tuple[CompiledKernel, list[IndexCheck]] | None:
    """The kernel and index checks of the entry of ``key``, or None; an entry
    that does not describe this function or whose code fails to load is
    deleted (the caller compiles and rewrites it)."""
    found = disk.load(key)
    if found is None:
        return None
    meta = found.meta
    try:
        checks = [IndexCheck(*row) for row in meta["checks"]]
        if meta["entry"] != entry or meta["ranks"] != ranks:
            raise ValueError("the entry describes another function")
        kernel = _compiler.load(found.code, entry, ranks + ([1] if checks else []), meta["libraries"])
    except (CompileError, KeyError, TypeError, ValueError):
        disk.discard(key)
        return None
    return kernel, checks


def _check_finite(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    for a, name in zip(arrays, names):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise NonFiniteError(
                f"argument {name!r} holds {bad} NaN or infinite value(s) and this function was "
                "compiled with check_finite=True; clean the input (np.nan_to_num) or drop the check"
            )


def _make_runner(
    traced: Traced, kernel: Callable[..., None], check_finite: bool, checks: Sequence[IndexCheck] = (),
    allocate: dict[str, Callable[..., Any]] | None = None,
) -> tuple[Callable[[list[np.ndarray]], list[np.ndarray]], Callable[..., Callable[[tuple], Any]], list[str]]:
    """Generate the per-call glue: shape checks, output allocation, the call.

    Returns ``run(arrays)``, which takes arrays already checked and made
    contiguous by the caller and returns the list of outputs; ``entry``,
    which builds further entries over the same glue behind a head of
    argument checks (see :class:`Executable`); and the glue's names of the
    returned outputs.

    With run-time index ``checks`` the kernel takes a zeroed ``status``
    array last; when a check failed it holds (check id, index, axis size)
    and the glue raises :class:`IndexOutOfBoundsError`. A failed call must
    leave the shared variables it updates in place unchanged, so the glue
    first checks, in Python, every window whose start is integer arithmetic
    on the integer inputs and input dims (``data[i * k:(i + 1) * k]``: see
    :func:`_window_prechecks`), raising before the call; only when some
    start is computed otherwise (``data[i // 2]``, ``data[argmax(x)]``) are
    the updated shared variables copied before the call and restored before
    raising, which costs one pass over them per call.

    ``allocate`` replaces the glue's allocation functions (``empty``,
    ``pooled``, ``fresh``: ``(shape, dtype) -> array``), as the GPU back end
    does to allocate device arrays.
    """
    names = [s.name for s in traced.specs]

    where: dict[Sym, str] = {}
    for i, v in enumerate(traced.inputs):
        for k, d in enumerate(v.type.shape):
            if isinstance(d, Sym) and d.op == "var":
                where.setdefault(d, f"s{i}[{k}]")

    def leaf(sym: Sym) -> str:
        if sym not in where:
            raise CompileError(f"internal: the traced graph has a dim {sym!r} that no input has")
        return where[sym]

    def describe(d: Any) -> str:
        if isinstance(d, int):
            return str(d)
        text = repr(d)
        for i, n in enumerate(names):
            text = text.replace(f"{i}.shape[", f"{n}.shape[")
        return text

    n_in = len(traced.inputs)
    unpack = [f"    {''.join(f'a{i}, ' for i in range(n_in))}= args"] if n_in else []
    head = unpack + [f"    s{i} = a{i}.shape" for i, v in enumerate(traced.inputs) if v.type.rank]
    lines: list[str] = []  # from the shape checks to the kernel call, shared by run and call
    messages: list[tuple[str, Any]] = []
    for k, (a, b, why, loc) in enumerate(traced.checks()):
        pa = a.python(leaf) if isinstance(a, Sym) else repr(a)
        pb = b.python(leaf) if isinstance(b, Sym) else repr(b)
        lines.append(f"    if {pa} != {pb}: fail({k}, {pa}, {pb})")
        messages.append((f"{why}: {describe(a)} = {{}} but {describe(b)} = {{}}", loc))
    if check_finite:
        lines.append(f"    check_finite([{''.join(f'a{i}, ' for i in range(n_in))}])")
    pre_lines, windows, complete = _window_prechecks(traced, leaf) if checks else ([], [], True)
    lines += pre_lines
    outs = []
    for j, v in enumerate(traced.outputs):
        if j in traced.updates:
            continue
        lines += _allocation(j, v.type.shape, np.dtype(v.type.dtype).itemsize, leaf)
        outs.append(f"o{j}")
    updated = sorted(set(traced.updates.values()))
    if checks:
        lines.append(f"    st = zeros({STATUS_SIZE}, int64)")
        for j in updated if not complete else ():
            lines.append(f"    b{j} = a{j}.copy()")
        outs_status = outs + ["st"]
    else:
        outs_status = outs
    lines.append(f"    kernel({''.join(f'a{i}, ' for i in range(n_in))}{''.join(o + ', ' for o in outs_status)})")
    if checks:
        restore = "".join(f"(a{j}, b{j}), " for j in updated if not complete)
        lines.append(f"    if st[0]: index_error(st, ({restore}))")
    run_lines = ["def run(args):", *head, *lines, f"    return [{', '.join(outs)}]"]

    def fail(k: int, va: int, vb: int) -> None:
        msg, loc = messages[k]
        text = f"the arguments of {traced.name} have incompatible shapes: " + msg.format(va, vb)
        if loc is not None:
            text += f"\n{loc}"
        raise ShapeError(text)

    def index_error(status: np.ndarray, restore: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        for array, before in restore:
            np.copyto(array, before)
        raise _index_error(traced, checks, status)

    def window_fail(k: int, start: int, n: int) -> None:
        check, loc = windows[k]
        text = check.message(start, n)
        raise IndexOutOfBoundsError(f"{text}\n{loc}" if loc is not None else text)

    namespace: dict[str, Any] = {
        "fail": fail,
        "index_error": index_error,
        "window_fail": window_fail,
        "zeros": np.zeros,
        "int64": np.int64,
        "empty": np.empty,
        "pooled": POOL.empty,
        "fresh": POOL.fresh,
        "config": config,
        "kernel": kernel,
        "check_finite": lambda arrays: _check_finite(arrays, names),
        **{f"dt{j}": np.dtype(v.type.dtype) for j, v in enumerate(traced.outputs) if j not in traced.updates},
        "MISS": MISS,
        **(allocate or {}),
    }
    exec("\n".join(run_lines), namespace)  # noqa: S102 - generated from our own Sym trees

    def entry(head: Sequence[str], returns: str, names: dict[str, Any]) -> Callable[[tuple], Any]:
        scope = {**namespace, **names}
        exec("\n".join(["def call(args):", *head, *lines, f"    return {returns}"]), scope)  # noqa: S102
        return scope["call"]

    return namespace["run"], entry, outs


def _jit_entry(
    traced: Traced, entry: Callable[..., Callable[[tuple], Any]], returned: list[str]
) -> Callable[[tuple], Any]:
    """``call(args)`` of a jit signature: takes a jit call's positional
    arguments, checks that they are of the traced signature (see
    :func:`_fast_entry`; ``MISS`` when not) and returns the outputs in the
    traced structure; :func:`_no_fast_entry` where there is none."""
    names: dict[str, Any] = {}
    found = _fast_entry(traced, returned, names)
    if found is None:
        return _no_fast_entry
    return entry(*found, names)


MISS = object()
"""What :meth:`Executable.call` returns for arguments not of its signature."""


def _no_fast_entry(args: tuple) -> Any:
    return MISS


# The Python scalars a weak (Python-scalar) argument of each dtype came from.
_WEAK_TYPES = {"float64": "float", "int64": "int", "bool": "bool"}


def _fast_entry(traced: Traced, outs: list[str], constants: dict[str, Any]) -> tuple[list[str], str] | None:
    """The head of a jit ``call(args)`` (the checks that ``args`` are of the
    traced signature, else ``return MISS``) and the expression it returns;
    None when the outputs do not match ``traced.out_tree`` leaf for leaf
    (a ``function``'s graph, whose own entry is built by ``function.py``).

    An array argument matches when it is exactly an ``ndarray``, of the
    traced dtype (the dtype object itself: a byte-swapped or otherwise
    unusual but equal dtype misses, and the caller's general path converts
    it), C-contiguous, of the traced rank, with dims equal to 1 exactly where
    the trace had them; a weak argument matches a Python scalar of its type,
    converted here. ``constants`` receives the names the lines use."""
    leaves = iter(outs)
    try:
        result = _tree_expr(traced.out_tree, leaves, constants)
    except StopIteration:
        return None
    if next(leaves, None) is not None:
        return None
    n = len(traced.specs)
    if n != len(traced.inputs):
        return None
    lines = [f"    if len(args) != {n}: return MISS"]
    if n:
        lines.append(f"    {''.join(f'a{i}, ' for i in range(n))}= args")
    constants.update(ndarray=np.ndarray, asarray=np.asarray)
    for i, spec in enumerate(traced.specs):
        constants[f"D{i}"] = np.dtype(spec.dtype)
        if spec.weak:
            python_type = _WEAK_TYPES.get(spec.dtype)
            if python_type is None or spec.rank:
                return None
            lines.append(f"    if type(a{i}) is not {python_type}: return MISS")
            lines.append(f"    a{i} = asarray(a{i}, D{i})")
            continue
        lines.append(
            f"    if type(a{i}) is not ndarray or a{i}.dtype is not D{i} or not a{i}.flags.c_contiguous: return MISS"
        )
        if not spec.rank:
            lines.append(f"    if a{i}.ndim: return MISS")
            continue
        lines.append(f"    s{i} = a{i}.shape")
        if any(spec.broadcastable):
            dims = " or ".join(f"s{i}[{k}] {'!=' if one else '=='} 1" for k, one in enumerate(spec.broadcastable))
        else:
            dims = f"1 in s{i}"
        lines.append(f"    if len(s{i}) != {spec.rank} or {dims}: return MISS")
    return lines, result


def _tree_expr(tree: Any, leaves: Iterator[str], constants: dict[str, Any]) -> str:
    """A Python expression building ``tree`` from the output names ``leaves``."""
    kind = tree[0]
    if kind == "leaf":
        return next(leaves)
    if kind == "none":
        return "None"
    if kind in ("tuple", "list"):
        items = "".join(_tree_expr(t, leaves, constants) + ", " for t in tree[1])
        return f"({items})" if kind == "tuple" else f"[{items}]"
    items = ""
    for key, t in zip(tree[1], tree[2]):
        name = f"K{len(constants)}"
        constants[name] = key
        items += f"{name}: {_tree_expr(t, leaves, constants)}, "
    return "{" + items + "}"


def _allocation(j: int, shape: Sequence[Any], itemsize: int, leaf: Callable[[Sym], str]) -> list[str]:
    """Lines of the glue allocating output ``o{j}``: ``np.empty`` below the
    pool's threshold (decided here when the shape is static, else by the
    glue from the dims), otherwise from :data:`runtime.pool.POOL` when
    ``config.result_pool`` is on at call time, else ``np.empty`` again."""
    dims: list[str] = []
    lines: list[str] = []
    for k, d in enumerate(shape):
        if isinstance(d, Sym):
            lines.append(f"    e{j}_{k} = {d.python(leaf)}")
            dims.append(f"e{j}_{k}")
        else:
            dims.append(repr(d))
    sh = f"({''.join(d + ', ' for d in dims)})"
    large = f"pooled({sh}, dt{j}) if config.result_pool else fresh({sh}, dt{j})"
    small = f"empty({sh}, dt{j})"
    if not shape:
        return [f"    o{j} = {small}"]
    least = -(-POOL.threshold // itemsize)  # elements of the smallest pooled result
    if all(isinstance(d, int) for d in shape):
        return [f"    o{j} = {small if math.prod(shape) < least else large}"]
    return lines + [f"    o{j} = {small} if {' * '.join(dims)} < {least} else {large}"]


def _window_prechecks(
    traced: Traced, leaf: Callable[[Sym], str]
) -> tuple[list[str], list[tuple[IndexCheck, SourceLoc | None]], bool]:
    """Lines of the glue checking window starts before the call, the checks
    they make, and whether they cover every window of the graph.

    A start is checked when it is int64 sums, differences, negations and
    products of 0-d int64 inputs, constants and input dims, which the glue
    evaluates exactly, as Python ints: where the exact start is in bounds,
    the kernel's wrapping int64 arithmetic gives the same start, so its own
    checks cannot fail. The locals ``_s``/``_n`` hold the start and the
    axis size.
    """
    position = {v.id: p for p, v in enumerate(traced.inputs)}

    def form(v: Any) -> str | None:
        if v.id in position:
            return f"int(a{position[v.id]})" if v.ndim == 0 and v.type.dtype == "int64" else None
        node = v.owner
        if node is None or v.ndim != 0 or v.type.dtype != "int64":
            return None
        if node.op == "constant":
            return repr(int(np.asarray(node.attrs["value"])))
        if node.op == "size" and len(node.attrs["axes"]) == 1 and node.inputs[0].id in position:
            return f"s{position[node.inputs[0].id]}[{node.attrs['axes'][0]}]"
        args = [form(a) for a in node.inputs]
        if any(a is None for a in args):
            return None
        if node.op in ("add", "sub", "mul"):
            return f"({args[0]} {dict(add='+', sub='-', mul='*')[node.op]} {args[1]})"
        return f"(-{args[0]})" if node.op == "neg" else None

    lines: list[str] = []
    windows: list[tuple[IndexCheck, SourceLoc | None]] = []
    complete = True
    for node in traced.nodes:
        if node.op not in ("dynamic_slice", "dynamic_update_slice"):
            continue
        x = node.inputs[0]
        starts = iter(node.inputs[1 if node.op == "dynamic_slice" else 2:])
        for axis, (k, w) in enumerate(zip(node.attrs["sizes"], node.attrs["wrap"])):
            if k == -1:
                continue
            start, d = form(next(starts)), x.type.shape[axis]
            try:
                n = d.python(leaf) if isinstance(d, Sym) else repr(d)
            except CompileError:  # a dim no input has
                n = None
            if start is None or n is None:
                complete = False
                continue
            first = "(_s + _n if _s < 0 else _s)" if w else "_s"
            lines += [f"    _s = {start}", f"    _n = {n}"]
            lines.append(f"    if not 0 <= {first} <= _n - {k}: window_fail({len(windows)}, _s, _n)")
            windows.append((IndexCheck(node.op, axis, k, bool(w)), node.loc))
    return lines, windows, complete


def _index_error(traced: Traced, checks: Sequence[IndexCheck], status: np.ndarray) -> IndexOutOfBoundsError:
    """The error of a failed run-time index check, at the user's line of its op."""
    check_id, start, n = (int(v) for v in status[:3])
    if not 1 <= check_id <= len(checks):
        return IndexOutOfBoundsError(
            f"internal: index check {check_id} of {traced.name} failed, but it has no such check"
        )
    check = checks[check_id - 1]
    text = check.message(start, n)
    loc = _check_location(traced, check)
    return IndexOutOfBoundsError(f"{text}\n{loc}" if loc is not None else text)


def _check_location(traced: Traced, check: IndexCheck) -> SourceLoc | None:
    """The traced op's source location (with its function and text), else the
    bare file and line the IR kept."""
    if check.filename is None or check.line is None:
        return None
    for node in traced.nodes:
        if node.loc is not None and node.loc.filename == check.filename and node.loc.line == check.line:
            return node.loc
    import linecache

    return SourceLoc((check.filename, check.line, "?", linecache.getline(check.filename, check.line).strip()))
