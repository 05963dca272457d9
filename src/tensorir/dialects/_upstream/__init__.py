"""Light stand-ins for MLIR's Python dialect modules, found first.

When the bindings meet an op, type or attribute of a dialect, they import
``<prefix>.<dialect>`` for each search prefix until one exists, to find its
Python classes. For ``linalg`` and ``llvm`` the upstream modules cost 60 and
40 ms (``mlir.dialects.linalg`` builds the whole OpDSL library of named ops
at import), a quarter of the first compile of an MLP training step.
``_bindings`` puts this package ahead of ``mlir.dialects`` in the search, so
those namespaces load the modules here instead:

* ``linalg``: the generated op classes only (``GenericOp``, ``FillOp``,
  ``YieldOp``, ``IndexOp``, ...), the part tensorir builds with;
* ``llvm``: nothing; tensorir makes LLVM types by parsing and LLVM ops by
  name, and reads them generically.

Importing ``mlir.dialects.linalg`` or ``mlir.dialects.llvm`` yourself still
works as usual.
"""
