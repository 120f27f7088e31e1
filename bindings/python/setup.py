"""Build hook: compiles libsess (cargo build --release --lib at the
repository root) and bundles libsess.so and sess.h into the package, so
`pip install ./bindings/python` from a checkout gives an `import libsess`
that needs nothing else. The cffi module comes from build_ffi.py."""

import json
import pathlib
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


class BuildWithLibrary(build_py):
    """build_py that also builds and copies the native library."""

    def run(self) -> None:
        super().run()
        if not (ROOT / "Cargo.toml").exists():
            raise SystemExit(f"libsess: no Cargo.toml at {ROOT}: build from a libsess checkout")
        subprocess.run(["cargo", "build", "--release", "--lib"], cwd=ROOT, check=True)
        # Where that build went, as cargo resolves it (a relative
        # CARGO_TARGET_DIR is from ROOT, cargo's directory, not this one).
        metadata = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        target = pathlib.Path(json.loads(metadata.stdout)["target_directory"])
        package = pathlib.Path(self.build_lib) / "libsess"
        shutil.copy2(target / "release" / "libsess.so", package / "libsess.so")
        shutil.copy2(ROOT / "include" / "sess.h", package / "sess.h")


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    cmdclass={"build_py": BuildWithLibrary},
    distclass=BinaryDistribution,
    cffi_modules=["build_ffi.py:ffibuilder"],
)
