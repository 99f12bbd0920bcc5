"""Where the PostgreSQL tests find a server, whether they may skip, and a fresh schema per test.

The server comes from `AGNOSTREAM_TEST_POSTGRES_URL` (what `scripts/postgres.sh start` prints). Without one,
or when nothing answers there, PostgreSQL tests skip with that reason — except when
`AGNOSTREAM_REQUIRE_POSTGRES=1` (set by `.ci/run`), where a missing server fails them, so CI can never pass
by skipping them. Each test gets its own schema (dropped afterwards) through the URL's `search_path`, so
tests never see each other's tables.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest

__all__ = ["POSTGRES_URL", "fresh_schema", "require_postgres", "with_search_path"]

POSTGRES_URL = os.environ.get("AGNOSTREAM_TEST_POSTGRES_URL", "")


@functools.cache
def _unavailable() -> str | None:
    if not POSTGRES_URL:
        return "AGNOSTREAM_TEST_POSTGRES_URL is not set (start one: scripts/postgres.sh start)"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL answers at {POSTGRES_URL}: {exc}"
    return None


def require_postgres() -> str:
    """The server URL; skips the test without one (fails it when `AGNOSTREAM_REQUIRE_POSTGRES=1`)."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("AGNOSTREAM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"AGNOSTREAM_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return POSTGRES_URL


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq's `options=-csearch_path=<schema>`: every connection of it works in `schema`."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new empty schema on the test server; yields a URL whose connections use it, then drops it."""
    url = require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
