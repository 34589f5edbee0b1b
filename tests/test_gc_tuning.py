"""The collector thresholds: set in the command's process and in every digest worker, nowhere else."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from slmscout.analyzers import digest
from slmscout.analyzers.gc_tuning import THRESHOLDS, collect_cycles_less_often
from slmscout.cli import app as cli_app


@pytest.fixture
def restored_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_thresholds_are_set(restored_thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    collect_cycles_less_often()
    assert gc.get_threshold()[0] == THRESHOLDS[0] != 700


def test_digest_workers_collect_less_often() -> None:
    """Spawned workers start with Python's defaults; the pool's initializer tunes each one."""
    with digest.worker_pool(2) as pool:
        thresholds = {pool.submit(gc.get_threshold).result()[0] for _ in range(4)}
    assert thresholds == {THRESHOLDS[0]}


def test_the_command_tunes_its_process(restored_thresholds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[int] = []
    monkeypatch.setattr(cli_app, "app", lambda: seen.append(gc.get_threshold()[0]))
    cli_app.main()
    assert seen == [THRESHOLDS[0]]


def test_importing_slmscout_leaves_the_collector_alone() -> None:
    """A program using slmscout as a library keeps its own settings."""
    code = (
        "import gc; before = gc.get_threshold(); import slmscout.cli.app, slmscout.analyzers.digest; "
        "print(gc.get_threshold() == before)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
