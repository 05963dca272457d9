"""tensorir: a symbolic tensor compiler for Python, built on MLIR and LLVM.

>>> import numpy as np, tensorir as ti
>>> @ti.jit
... def f(x):
...     return ti.tanh(x).sum()
>>> float(f(np.zeros(4, np.float32)))
0.0
"""

from __future__ import annotations

from . import errors
from .config import config
from .errors import (
    ArgumentError,
    CompileError,
    DebugModeError,
    DTypeError,
    GpuError,
    GpuOutOfMemoryError,
    GpuUnavailableError,
    KernelLaunchError,
    NanGuardError,
    NonFiniteError,
    ShapeError,
    TensorIRError,
    TracerBoolConversionError,
    TracerError,
    UnsupportedError,
)
from .frontend import nn
from .frontend import nnet
from .frontend import variable as _variable  # noqa: F401  (operators of Variable)
from .frontend.dtypes import bool_, float32, float64, int32, int64
from .frontend.graph import Variable
from .frontend.ops_elementwise import *  # noqa: F401,F403
from .frontend.ops_elementwise import __all__ as _elementwise_all
from .frontend.ops_reduce import *  # noqa: F401,F403
from .frontend.ops_reduce import __all__ as _reduce_all
from .frontend.ops_shape import *  # noqa: F401,F403
from .frontend.ops_shape import __all__ as _shape_all
from .frontend.ops_linalg import *  # noqa: F401,F403
from .frontend.ops_linalg import __all__ as _linalg_all
from .frontend.scan import foldl, foldr, map, reduce, scan
from .frontend.autodiff import grad, hessian, jacobian, jvp, value_and_grad, vjp
from .frontend.symbolic import (
    SharedVariable,
    clone_replace,
    matrix,
    scalar,
    shared,
    tensor,
    tensor3,
    tensor4,
    vector,
)
from .device import gpu_info, synchronize, to_device
from .function import Function, ProfileStats, function
from .jit import JitFunction, jit
from .modes import DebugMode, Mode, NanGuardMode
from .printing import debugprint, graphviz, to_dot

__version__ = "0.1.0"

__all__ = [
    "jit",
    "JitFunction",
    "function",
    "Function",
    "Mode",
    "DebugMode",
    "NanGuardMode",
    "ProfileStats",
    "debugprint",
    "to_dot",
    "graphviz",
    "shared",
    "SharedVariable",
    "scalar",
    "vector",
    "matrix",
    "tensor",
    "tensor3",
    "tensor4",
    "clone_replace",
    "config",
    "grad",
    "value_and_grad",
    "vjp",
    "jvp",
    "jacobian",
    "hessian",
    "scan",
    "map",
    "reduce",
    "foldl",
    "foldr",
    "Variable",
    "nn",
    "nnet",
    "errors",
    "bool_",
    "int32",
    "int64",
    "float32",
    "float64",
    "TensorIRError",
    "ShapeError",
    "DTypeError",
    "ArgumentError",
    "TracerError",
    "TracerBoolConversionError",
    "UnsupportedError",
    "NonFiniteError",
    "NanGuardError",
    "DebugModeError",
    "CompileError",
    "GpuError",
    "GpuUnavailableError",
    "GpuOutOfMemoryError",
    "KernelLaunchError",
    "DeviceArray",
    "to_device",
    "gpu_info",
    "synchronize",
    *_elementwise_all,
    *_reduce_all,
    *_shape_all,
    *_linalg_all,
]


def __getattr__(name: str) -> object:
    # the GPU runtime (and cuda-python) is imported only when it is used
    if name == "DeviceArray":
        from .runtime.gpu import DeviceArray

        return DeviceArray
    raise AttributeError(f"module 'tensorir' has no attribute {name!r}")
