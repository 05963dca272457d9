"""The ``linalg`` dialect's generated op classes, without the OpDSL library (see ``__init__``).

Importing the generated module registers every linalg op's class with the
bindings; tensorir builds with the four below.
"""

from mlir.dialects._linalg_ops_gen import FillOp, GenericOp, IndexOp, YieldOp

__all__ = ["FillOp", "GenericOp", "IndexOp", "YieldOp"]
