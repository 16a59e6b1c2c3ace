from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from kopilka.core import scheduler


class Command(BaseCommand):
    help = "Run the scheduler loop: every tick, enqueue the periodic jobs that are due."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between ticks (default 30)")
        parser.add_argument("--once", action="store_true", help="run one tick and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0:
            from django.core.management.base import CommandError

            raise CommandError("--interval must be positive")
        stop = threading.Event()

        def _stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.stdout.write("scheduler started")
        while True:
            names = scheduler.tick()
            if names and options["verbosity"] > 1:
                self.stdout.write("enqueued: " + ", ".join(names))
            if options["once"] or stop.wait(options["interval"]):
                break
        self.stdout.write("scheduler stopped")
