#!/usr/bin/env python3
"""Freezes the C ABI of include/sess.h as a C file of compile-time checks.

    python3 scripts/abi_baseline.py include/sess.h > tests/abi/sess-abi-0.c

The output, compiled against a later sess.h (tests/header.rs does), fails
to compile if that header broke what this one declared:

- every function keeps its exact type (return and parameter types);
- every struct and union keeps each member at its offset with its type; a
  versioned struct (struct_size first) or one only the library makes (LENT)
  may grow, any other keeps its size;
- every typedef (handles, codes, callbacks) keeps its type;
- every constant keeps its value, every _init macro stays defined, and the
  exported data (SESS_IID_*) keep their type.

A new header may add anything. Run this once per major version (the
SONAME's): regenerating within a major version would forget the promise.
It reads the header as cbindgen writes it (one declaration per statement,
no nested or anonymous struct definitions) and needs only Python 3.
"""

import re
import sys

# Constants that change from release to release by design.
CHANGING = {"SESS_VERSION_MINOR", "SESS_VERSION_PATCH", "SESS_VERSION_STRING"}
# Structs only the library makes, lending a pointer to a host's callback
# (a host never allocates one): they may grow at the end, as versioned ones.
LENT = {"sess_buffer", "sess_buffer_list"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def squash(text):
    return " ".join(text.split())


def member_name(decl):
    """The name a member declaration declares (`(*name)(...)` or `name[n]`)."""
    pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
    if pointer:
        return pointer.group(1)
    return re.search(r"(\w+)\s*(\[[^\]]*\]\s*)*$", decl).group(1)


def main(path):
    raw = open(path, encoding="utf-8").read()
    out = [
        "/* The C ABI of libsess 0.x, frozen: generated from include/sess.h by",
        "   scripts/abi_baseline.py (see there). tests/header.rs compiles it",
        "   against today's header: a failure names what a change broke for",
        "   programs built against this one. Do not edit or regenerate within",
        "   major version 0; a new header may only add. */",
        "#include <stddef.h>",
        '#include "sess.h"',
        "",
        "#define ABI_SAME(a, b, what) \\",
        "  _Static_assert(__builtin_types_compatible_p(a, b), what)",
        "",
    ]

    for name, value in re.findall(r"^#define (SESS_\w+)[ \t]+([^\n]*?)\s*(?:/\*.*)?$", raw, re.M):
        if name.startswith("SESS_H") or name in CHANGING:
            continue
        out.append(f'_Static_assert(({name}) == ({value}), "{name} keeps its value");')
    for name in re.findall(r"^#define (sess_\w+)\(", raw, re.M):
        out.append(f"#ifndef {name}\n#error \"the macro {name} is gone\"\n#endif")
    out.append("")

    text = strip_comments(raw)
    text = re.sub(r"^#[^\n]*$", " ", text, flags=re.M)
    # extern "C" { ... }: its braces alone on their lines.
    text = text.replace('extern "C" {', " ")
    text = re.sub(r"^\}\s*$", " ", text, flags=re.M)
    for stmt in (squash(s) for s in split_statements(text)):
        if stmt:
            out.extend(check(stmt))
    print("\n".join(out))


def split_statements(text):
    """Top-level statements, each ending at a `;` outside braces."""
    depth, start = 0, 0
    for i, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            yield text[start:i]
            start = i + 1


def check(stmt):
    if re.fullmatch(r"(struct|union) \w+", stmt):
        return []  # a forward declaration
    body = re.fullmatch(r"typedef (struct|union) (\w+) \{ (.*) \} (\w+)", stmt)
    if body:
        kind, tag, members, alias = body.groups()
        return check_record(kind, tag, members, alias)
    opaque = re.fullmatch(r"typedef (struct|union) (\w+) (\w+)", stmt)
    if opaque:
        kind, tag, alias = opaque.groups()
        return [f'ABI_SAME({alias} *, {kind} {tag} *, "{alias} is {kind} {tag}");']
    callback = re.fullmatch(r"typedef (.*)\(\s*\*\s*(\w+)\s*\)(\(.*\))", stmt)
    if callback:
        ret, name, params = callback.groups()
        return [
            f"typedef {ret}(*abi0_{name}){params};",
            f'ABI_SAME({name}, abi0_{name}, "{name} keeps its type");',
        ]
    plain = re.fullmatch(r"typedef (.*) (\w+)", stmt)
    array = re.fullmatch(r"typedef (.*?) (\w+)(\[.*\])", stmt)
    if array:
        target, name, dims = array.groups()
        return [f'ABI_SAME({name}, {target}{dims}, "{name} keeps its type");']
    if plain:
        target, name = plain.groups()
        return [f'ABI_SAME({name}, {target}, "{name} keeps its type");']
    data = re.fullmatch(r"extern (.*) (\w+)", stmt)
    if data:
        target, name = data.groups()
        return [f'ABI_SAME(__typeof__({name}), {target}, "{name} keeps its type");']
    function = re.fullmatch(r"(.*?)(\w+)(\(.*\))", stmt)
    if function:
        ret, name, params = function.groups()
        return [f'ABI_SAME(__typeof__(&{name}), {ret}(*){params}, "{name} keeps its type");']
    sys.exit(f"abi_baseline.py: a declaration it does not know: {stmt}")


def check_record(kind, tag, members, alias):
    decls = [squash(m) for m in members.split(";") if m.strip()]
    frozen = f"abi0_{tag}"
    lines = [f"{kind} {frozen} {{ {'; '.join(decls)}; }};"]
    for decl in decls:
        name = member_name(decl)
        lines.append(
            f"_Static_assert(offsetof({alias}, {name}) == offsetof({kind} {frozen}, {name}), "
            f'"{alias}.{name} keeps its offset");'
        )
        lines.append(
            f"ABI_SAME(__typeof__((({alias} *)0)->{name}), "
            f'__typeof__((({kind} {frozen} *)0)->{name}), "{alias}.{name} keeps its type");'
        )
    grows = member_name(decls[0]) == "struct_size" or alias in LENT
    relation, what = (">=", "may only grow") if grows else ("==", "keeps its size")
    lines.append(
        f"_Static_assert(sizeof({alias}) {relation} sizeof({kind} {frozen}), "
        f'"{alias} {what}");'
    )
    return lines + [""]


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "include/sess.h")
