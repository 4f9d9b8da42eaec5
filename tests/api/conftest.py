"""The API tier runs in process: ``server`` here is a tests.support.in_process server (the
API app and the pipeline's worker on one background event loop, no sockets), with the
interface of the real one in tests/e2e (``server.api(token=None, account=False)``, the
tokens and the Default server's id). Both backends, through ``database_url``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import test_settings
from tests.support.in_process import InProcessServer, start_in_process


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[InProcessServer]:
    running = start_in_process(test_settings(database_url, tmp_path / "data"))
    yield running
    running.stop()


@pytest.fixture
def make_server(database_url: str, tmp_path: Path
                ) -> Iterator[Callable[..., InProcessServer]]:
    """In-process servers with overridden settings (e.g. api_max_body_bytes), stopped after."""
    started: list[InProcessServer] = []

    def make(**overrides: Any) -> InProcessServer:
        running = start_in_process(test_settings(database_url, tmp_path / "data", **overrides))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
