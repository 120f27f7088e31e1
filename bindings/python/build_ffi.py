"""Builds libsess's cffi module from the committed C header.

The declarations come from include/sess.h itself (comments, preprocessor
lines and the C-only layout check removed) and its integer #defines become
cffi constants (result codes as signed 32-bit HRESULTs), so nothing in the
binding restates the header. setup.py runs this through cffi's setuptools
integration (cffi_modules), which writes libsess/_sess_cffi.py: ABI mode,
out of line, so importing libsess parses nothing.
"""

import os
import pathlib
import re

import cffi

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HEADER = pathlib.Path(os.environ.get("SESS_HEADER", ROOT / "include" / "sess.h"))

_INT = re.compile(r"^[\s()\w+-]*?(-?)(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\)*\s*$")


def constants(text: str) -> str:
    """The header's integer #defines as cffi `#define NAME value` lines."""
    lines = []
    for name, value in re.findall(r"^#define\s+(SESS_\w+)\s+([^/\n]+)", text, re.M):
        match = _INT.match(value)
        if not match:
            continue  # strings, include guards, anything not a plain integer
        number = int(match.group(2), 0) * (-1 if match.group(1) else 1)
        if number >= 1 << 31 and "sess_result" in value:
            number -= 1 << 32  # an HRESULT is a signed 32-bit value
        lines.append(f"#define {name} {number}")
    return "\n".join(lines)


def declarations(text: str) -> str:
    """The header's types and functions, as cffi's parser takes them."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"#ifdef __cplusplus\n.*?#endif", "", text, flags=re.S)
    kept = [
        line
        for line in text.splitlines()
        if not line.lstrip().startswith("#") and "sess_assert_" not in line
    ]
    return "\n".join(kept)


def source() -> str:
    """The header's text (its path may be set with SESS_HEADER)."""
    if not HEADER.exists():
        raise SystemExit(f"libsess: {HEADER} not found: build from a libsess checkout")
    return HEADER.read_text(encoding="utf-8")


ffibuilder = cffi.FFI()
_text = source()
ffibuilder.cdef(declarations(_text) + "\n" + constants(_text))
ffibuilder.set_source("libsess._sess_cffi", None)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
