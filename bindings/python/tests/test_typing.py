"""The package's annotations, as its users' type checkers read them (the
package ships py.typed)."""

import importlib.util
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.skipif(sys.version_info < (3, 10), reason="the test extra's mypy needs Python 3.10")
def test_the_installed_package_type_checks_strictly(tmp_path):
    """`mypy --strict` finds nothing in the package imported here (the
    installed one). It found 24 errors in the package's modules (values
    cffi gives as Any returned as int, str or bool; `ffi` used but not
    re-exported; callbacks made by an untyped decorator; a bare `list`)
    and one in the generated cffi module (an untyped import). mypy comes
    with the test extra, which the test command installs."""
    result = mypy_strict(tmp_path, "-p", "libsess")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(sys.version_info < (3, 10), reason="the test extra's mypy needs Python 3.10")
def test_a_users_code_type_checks_as_it_runs(tmp_path):
    """Code that runs type-checks strictly: static object factories given
    as a dict of classes, or as any mapping (the annotation was a dict of
    callables, which a dict is invariant in: mypy refused both); a
    Session_OnStart / Session_OnEnd handler that returns something, which
    is ignored (the annotation asked for None)."""
    user = tmp_path / "user.py"
    user.write_text(
        textwrap.dedent(
            """\
            from typing import Callable, List, Mapping

            import libsess


            class Cart:
                def __init__(self, name: str) -> None:
                    self.name = name


            classes = {"cart": Cart}
            factories: Mapping[str, Callable[[str], object]] = {"cart": Cart}
            with libsess.App(static_objects=classes) as app, app.create() as s:
                assert isinstance(s.static_objects["cart"].target, Cart)
            with libsess.App(static_objects=factories) as app, app.create() as s:
                assert isinstance(s.static_objects["cart"].target, Cart)


            def start(s: libsess.Session) -> bool:
                s["started"] = True
                return True


            ended: List[str] = []


            def end(s: libsess.Session) -> int:
                ended.append(s.id)
                return len(ended)


            with libsess.App(on_start=start, on_end=end) as app:
                with app.create() as s:
                    s["user"] = "Arthur"
                    assert s["started"] is True
                    s.abandon()
                assert ended == [s.id]
            """
        )
    )
    ran = subprocess.run([sys.executable, str(user)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    result = mypy_strict(tmp_path, str(user))
    assert result.returncode == 0, result.stdout + result.stderr


def mypy_strict(cwd, *args):
    """`mypy --strict *args` run in `cwd` (not a checkout: the package is
    found where it is installed); the CompletedProcess."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed: install the test extra (pip install './bindings/python[test]')")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cwd / "cache"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
