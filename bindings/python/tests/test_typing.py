"""The package's annotations, as its users' type checkers read them (the
package ships py.typed)."""

import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.skipif(sys.version_info < (3, 10), reason="the test extra's mypy needs Python 3.10")
def test_the_installed_package_type_checks_strictly(tmp_path):
    """`mypy --strict` finds nothing in the package imported here (the
    installed one). It found 24 errors in the package's modules (values
    cffi gives as Any returned as int, str or bool; `ffi` used but not
    re-exported; callbacks made by an untyped decorator; a bare `list`)
    and one in the generated cffi module (an untyped import). mypy comes
    with the test extra, which the test command installs."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed: install the test extra (pip install './bindings/python[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-p", "libsess"],
        cwd=tmp_path,  # not a checkout: the package is found where it is installed
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
