"""Fixtures of the projection tests: every view-store test runs on SQLite and on PostgreSQL.

The PostgreSQL variant needs `AGNOSTREAM_TEST_POSTGRES_URL` (see tests/postgres_db.py): it skips without
one, or fails when `AGNOSTREAM_REQUIRE_POSTGRES=1`. Each test gets its own SQLite file or PostgreSQL schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from projections import ViewStore
from tests.postgres_db import fresh_schema
from tests.view_backends import Backend


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "sub" / "views.db"), sqlite3.IntegrityError)
    else:
        with fresh_schema() as url:
            yield Backend("postgres", url, psycopg.IntegrityError)


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    s = backend.new_store()
    s.open()
    yield s
    s.close()
