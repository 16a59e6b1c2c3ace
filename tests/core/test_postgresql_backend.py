"""The PostgreSQL backend's health check: no round trip for a live connection, a new one for a dead one."""

from __future__ import annotations

import tempfile
import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from kopilka.accounts.models import Business
from kopilka.core import fastsql

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend"),
    pytest.mark.django_db(transaction=True),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_live_idle_connection_passes_without_sending_anything(business: Business) -> None:
    _backend_pid()
    raw = connection.connection
    with tempfile.TemporaryFile() as trace:
        raw.pgconn.trace(trace.fileno())  # libpq writes every protocol message it sends or reads here
        try:
            usable = connection.is_usable()
        finally:
            raw.pgconn.untrace()
        trace.seek(0)
        assert usable
        assert trace.read() == b""
        # the same trace does see a query: the check above would have caught one
        raw.pgconn.trace(trace.fileno())
        try:
            raw.execute("SELECT 1")
        finally:
            raw.pgconn.untrace()
        trace.seek(0)
        assert b"SELECT 1" in trace.read()


def test_a_terminated_connection_is_replaced_before_the_next_request_uses_it(business: Business) -> None:
    pid = _backend_pid()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])  # as a restart or an administrator would
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # until the server's goodbye reaches the socket
    assert not connection.is_usable()

    close_old_connections()  # what Django does when a request starts (the test client skips it)
    found = fastsql.select(Business, '"id" = %s', [business.pk])  # the hot path's first statement
    assert [b.pk for b in found] == [business.pk]
    assert _backend_pid() != pid
