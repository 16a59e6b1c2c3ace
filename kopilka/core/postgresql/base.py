"""Django's PostgreSQL backend with a health check that costs no round trip.

``CONN_HEALTH_CHECKS`` makes Django test a kept connection before a request first uses it, with a
``SELECT 1`` — a round trip on every request. An idle connection has nothing to say: the server sends
on it unasked only to end it (its error message and EOF, after a restart or ``pg_terminate_backend``)
or, rarely, a notice. So the check looks at the socket without waiting: nothing to read means usable;
anything to read gets Django's ``SELECT 1``, which reads it and tells a dead connection from a live one.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        if raw.info.transaction_status != pq.TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            readable, _writable, _failed = select.select([raw.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return not readable or bool(super().is_usable())
