"""Run the whole platform on one machine: web server, task worker and scheduler."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


class Command(BaseCommand):
    help = "Run web server (gunicorn), task worker and scheduler together; Ctrl-C or SIGTERM stops all three."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("KOPILKA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("KOPILKA_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("KOPILKA_WEB_WORKERS", "2")))
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535")
        if options["web_workers"] < 1:
            raise CommandError("--web-workers must be at least 1")
        if _port_taken(host, port):
            raise CommandError(f"{host}:{port} is already in use; choose another --port")
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)

        shown_host = "localhost" if host in {"0.0.0.0", "127.0.0.1", "::"} else host
        url = f"http://{shown_host}:{port}"
        env = dict(os.environ)
        env.setdefault("KOPILKA_PUBLIC_URL", url)
        env.setdefault("PYTHONUNBUFFERED", "1")
        commands = {
            "web": [
                sys.executable, "-m", "gunicorn", "kopilka.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", str(options["web_workers"]), "--threads", "4", "--preload",
                "--access-logfile", "-", "--graceful-timeout", "10", "--timeout", "60",
            ],
            "worker": [sys.executable, MANAGE, "db_worker", "--no-reload", "--interval", "1"],
            "scheduler": [sys.executable, MANAGE, "scheduler"],
        }
        procs: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            for name, cmd in commands.items():
                procs[name] = subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR, start_new_session=True)
            deadline = time.monotonic() + 60
            while not _port_taken(host, port):
                if stopping or any(p.poll() is not None for p in procs.values()) or time.monotonic() > deadline:
                    raise CommandError("the platform did not start; see the messages above")
                time.sleep(0.2)
            self.stdout.write(self.style.SUCCESS(f"Kopilka is running at {env['KOPILKA_PUBLIC_URL']}/ (Ctrl-C to stop)"))
            self.stdout.flush()
            while not stopping:
                dead = [n for n, p in procs.items() if p.poll() is not None]
                if dead:
                    raise CommandError(f"{', '.join(dead)} stopped unexpectedly; stopping the rest")
                time.sleep(0.5)
        finally:
            _stop_all(procs)
            self.stdout.write("Kopilka stopped.")


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host if host not in {"0.0.0.0", "::"} else "127.0.0.1", port)) == 0


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs.values():
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
