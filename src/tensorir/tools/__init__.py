"""Command-line tools: ``tensorir-opt`` (:mod:`tensorir.tools.opt`).

``opt`` reads IR (or traces a Python function), runs tir passes and upstream
MLIR passes in one pass manager, and prints the result at any stage of the
compiler. Its pieces: :mod:`.catalog` (which passes it can run),
:mod:`.pipeline` (a pipeline from flags or ``--pass-pipeline`` text, built
into a ``PassManager``), :mod:`.check` (tir ops against their type rules),
:mod:`.importer` (``--import module:function``), :mod:`.diagnostics` (errors
as one readable paragraph).
"""
