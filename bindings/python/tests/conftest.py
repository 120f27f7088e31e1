"""SharedHandle fixtures."""

import subprocess
import sys
import textwrap

import pytest


@pytest.fixture
def python():
    """Runs Python source in a new interpreter, for scenarios that would
    crash the process if they went wrong (or that need the interpreter's
    exit); gives the CompletedProcess (stdout and stderr as text)."""

    def run(source):
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True, timeout=300
        )

    return run
