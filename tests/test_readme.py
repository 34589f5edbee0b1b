"""The README's example output is what the program prints today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "update_readme.py"


def test_readme_examples_are_current() -> None:
    spec = importlib.util.spec_from_file_location("update_readme", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = module.README.read_text(encoding="utf-8")
    assert "<!-- example: demo-report -->" in current
    assert module.rendered(current) == current, "README examples are stale: python scripts/update_readme.py"
