"""The build hook (setup.py), run from the checkout it sits in."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not (ROOT / "Cargo.toml").exists(), reason="not in a libsess checkout")
def test_a_relative_cargo_target_dir_bundles_the_library_cargo_built(tmp_path):
    """Cargo takes a relative CARGO_TARGET_DIR from the repository root,
    where the hook runs it; the hook looked for the library from its own
    directory (not found, or a stale one bundled)."""
    pytest.importorskip("setuptools")
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")).resolve()
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.relpath(target, ROOT))
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=ROOT / "bindings" / "python",
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "libsess" / "libsess.so").read_bytes() == (target / "release" / "libsess.so").read_bytes()
