"""Shared fixtures."""

import socket
import subprocess
import sys
import textwrap
import time

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


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server (scripts/install-deps.sh installs it) on a
    free loopback port, without persistence; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen([*command, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait()
