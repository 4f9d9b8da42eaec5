"""Fixtures of the SDK conformance suite: one real Postlane per test module (SQLite, real
sockets), seeded by tests/support/sdk_seed.py. Each SDK test module drives this server only
through its SDK.

The server emits Postmark's labels for the SMTP API Error bounce (SMTPApiError/100007, the
``smtp_api_error_labels=postmark`` setting the README gives for strict SDKs): the seed's
default InternalError/4003 is a Type postmark-python's BounceType enum refuses.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from postmark import sync

from postlane.domain.bounce_types import SmtpApiErrorLabels
from tests.support.harness import start_server, test_settings
from tests.support.sdk_seed import Seeded, seed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory,
           sqlite_template: Path) -> Iterator[Seeded]:
    """One server per module (fast), on a copy of the migrated SQLite template."""
    base = tmp_path_factory.mktemp("conformance")
    target = base / "postlane.db"
    shutil.copyfile(sqlite_template, target)
    server = start_server(test_settings(f"sqlite:///{target}", base / "data",
                                        smtp_api_error_labels=SmtpApiErrorLabels.POSTMARK))
    try:
        yield seed(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[sync.SyncServerClient]:
    """postmark-python's server client on this module's server (test_postmarker.py names
    its own postmarker client ``client``)."""
    # retries=0: a failing call fails at once instead of backing off for seconds.
    with sync.ServerClient(seeded.server.server_token, retries=0, timeout=30,
                           base_url=seeded.server.api_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def account(seeded: Seeded) -> Iterator[sync.SyncAccountClient]:
    """postmark-python's account client on this module's server."""
    with sync.AccountClient(seeded.server.account_token, retries=0, timeout=30,
                            base_url=seeded.server.api_url) as opened:
        yield opened
