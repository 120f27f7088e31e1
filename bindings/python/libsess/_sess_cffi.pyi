"""Types of the module build_ffi.py generates when the package is built
(libsess/_sess_cffi.py, not in the source tree): `ffi`, cffi's FFI for
sess.h, whose C declarations Python's type system does not describe."""

from typing import Any

ffi: Any
