"""The loaded library and the helpers every call shares: result checks
and text out of buf/buf_len/out_len functions."""

from __future__ import annotations

import pathlib
from typing import Any, Callable

from ._sess_cffi import ffi

lib: Any = ffi.dlopen(str(pathlib.Path(__file__).resolve().parent / "libsess.so"))


def check(hr: int) -> int:
    """Raises the SessionError for a failure code; returns success codes."""
    if hr < 0:
        from .errors import last_error

        raise last_error(hr)
    return hr


def text_out(call: Callable[[Any, int, Any], int]) -> str:
    """The text a buf/buf_len/out_len function writes, retried once with the
    length it asks for."""
    size = ffi.new("size_t *")
    buf = ffi.new("char[]", 64)
    hr = call(buf, 64, size)
    if hr == lib.SESS_E_INSUFFICIENT_BUFFER:
        buf = ffi.new("char[]", size[0] + 1)
        hr = call(buf, size[0] + 1, size)
    check(hr)
    return ffi.unpack(buf, size[0]).decode("utf-8")


def c_text(text: str) -> bytes:
    """`text` as the NUL-terminated UTF-8 the C calls take."""
    if not isinstance(text, str):
        raise TypeError(f"expected str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError("text must not contain NUL")
    return data
