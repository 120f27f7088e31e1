"""Builds libsess's cffi module from the committed C header.

The declarations come from include/sess.h itself (comments, preprocessor
lines and the C-only layout check removed) and its integer #defines become
cffi constants, evaluated by the C compiler, so nothing in the binding
restates the header. setup.py runs this through cffi's setuptools
integration (cffi_modules), which writes libsess/_sess_cffi.py: ABI mode,
out of line, so importing libsess parses nothing.
"""

import os
import pathlib
import re
import shlex
import subprocess
import tempfile

import cffi

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HEADER = pathlib.Path(os.environ.get("SESS_HEADER", ROOT / "include" / "sess.h"))

def constants(text: str) -> str:
    """The header's integer #defines as cffi `#define NAME value` lines,
    their values computed by the C compiler (whatever form the macros take;
    result codes come out as the signed HRESULTs they are)."""
    names = [
        name
        for name, value in re.findall(r"^#define\s+(SESS_\w+)[ \t]+(\S.*)$", text, re.M)
        if not value.startswith('"')  # strings (the version text)
    ]
    program = "#include <stdio.h>\n#include \"sess.h\"\nint main(void) {\n"
    program += "".join(f'    printf("%s %lld\\n", "{n}", (long long)({n}));\n' for n in names)
    program += "    return 0;\n}\n"
    with tempfile.TemporaryDirectory() as tmp:
        source, exe = pathlib.Path(tmp, "constants.c"), pathlib.Path(tmp, "constants")
        source.write_text(program)
        compiler = shlex.split(os.environ.get("CC", "cc"))
        subprocess.run([*compiler, "-I", str(HEADER.parent), "-o", str(exe), str(source)], check=True)
        values = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return "\n".join(f"#define {line}" for line in values.splitlines())


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
