"""Runs the front-end checks (vitest suite, TypeScript type check) from pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.js


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm not found: the front-end checks need Node.js 20.19+ and npm")
    if not (ROOT / "node_modules").is_dir():
        pytest.fail(f"{ROOT / 'node_modules'} is missing: run `npm ci` in {ROOT}")
    result = subprocess.run(
        [npm, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    output = f"$ npm {' '.join(args)}  (exit {result.returncode})\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output


def test_vitest_suite_passes():
    _npm("test")


def test_typescript_type_check_passes():
    _npm("run", "typecheck")
