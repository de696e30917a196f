"""ParPy's type annotations: one attribute per ElemSize, and ``pointer(T)``.

Helper functions called from a jitted function annotate their parameters
with these, e.g. ``def add(x: parpy.types.F32, y: parpy.types.pointer(F32))``.
"""
from __future__ import annotations

from ._options import ElemSize
from .errors import ParPyTypeError

__all__ = ["ElemSize", "Bool", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "F16",
           "F32", "F64", "BF16", "Pointer", "pointer"]

Bool = ElemSize.Bool
I8 = ElemSize.I8
I16 = ElemSize.I16
I32 = ElemSize.I32
I64 = ElemSize.I64
U8 = ElemSize.U8
U16 = ElemSize.U16
U32 = ElemSize.U32
U64 = ElemSize.U64
F16 = ElemSize.F16
F32 = ElemSize.F32
F64 = ElemSize.F64
BF16 = ElemSize.BF16


class Pointer:
    """The type of a pointer to elements of type ``elem``."""

    __slots__ = ("elem",)

    def __init__(self, elem: ElemSize) -> None:
        if not isinstance(elem, ElemSize):
            raise ParPyTypeError(f"parpy.types.pointer expects an ElemSize such as "
                                 f"parpy.types.F32, not {type(elem).__name__}")
        self.elem = elem

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pointer) and other.elem == self.elem

    def __hash__(self) -> int:
        return hash(("pointer", self.elem))

    def __repr__(self) -> str:
        return f"pointer({self.elem.name})"


def pointer(ty: ElemSize) -> Pointer:
    """The type of a pointer to ``ty`` elements."""
    return Pointer(ty)
