"""The WSGI application for ``bench/purchase_api.py``, loaded once in gunicorn's master (``--preload``).

Django imports the URLconf (and with it every app's views: ~430 modules, about a second of CPU) on
the first request a process serves. Without this, each of the 2 × cores workers pays that on its
first request, all at once on a 2-core machine, and the clients queued behind them show up as a p99
of seconds. Resolving the URLconf here, before the fork, makes every worker start warm.
"""

from django.urls import get_resolver

from kopilka.wsgi import application

get_resolver().url_patterns  # noqa: B018 - imported for its side effect: every URLconf and view module

__all__ = ["application"]
