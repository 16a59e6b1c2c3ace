import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")

application = get_wsgi_application()

# Import every URLconf and view module now rather than on the first request: under gunicorn
# ``--preload`` this happens once, before the workers fork, so no worker's first requests stall.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018

# Everything imported so far lives as long as the process: move it out of the cyclic garbage
# collector's generations, so full collections stop walking hundreds of thousands of objects on
# every request burst (and forked workers keep sharing those pages).
import gc  # noqa: E402

gc.collect()
gc.freeze()
