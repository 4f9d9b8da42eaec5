"""The SQLite database holds every token and message: it, its WAL and shared-memory files
and the writer lock are created readable by their owner only, in a data directory of
mode 0700 (issue 12), whatever the umask lets other files be."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from postlane.config import Settings
from postlane.runtime import Postlane


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default (022): files would be world-readable unless made otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_a_fresh_data_dir_and_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "nested" / "data"
    postlane = Postlane(Settings(data_dir=data))
    try:
        postlane.prepare()  # migrates and bootstraps: the database, its WAL and SHM exist
        files = {p.name: mode(p) for p in data.iterdir() if p.name.startswith("postlane.db")}
        assert {"postlane.db", "postlane.db-wal", "postlane.db-shm"} <= set(files), files
        assert files == dict.fromkeys(files, 0o600)
        assert mode(data) == 0o700
    finally:
        postlane.close()
    assert mode(data / "postlane.db") == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    (data / "postlane.db").touch(mode=0o640)
    postlane = Postlane(Settings(data_dir=data))
    try:
        postlane.prepare()
        assert mode(data) == 0o750 and mode(data / "postlane.db") == 0o640
    finally:
        postlane.close()
