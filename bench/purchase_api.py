"""Benchmark: the POS API over HTTP (gunicorn) vs pgbench tpcb-like, on one PostgreSQL, in one run.

    uv run python bench/purchase_api.py [--customers 100000] [--seconds 15] [--clients 16]

Uses the database prepared by ``bench/purchase_service.py`` (run that first, or pass --prepare).
Starts gunicorn with 2 × cores workers on 127.0.0.1 (``--preload`` of ``kopilka.wsgi``, which
imports the URLconf before the fork, so no worker pays Django's first-request imports during the
measurement) — sync workers, then gthread workers with 4 threads as ``manage.py serve`` runs them —
warms both paths up, then drives it with ``wrk`` (another
process; Debian package ``wrk``) and a Lua script that sends ``POST /api/v1/purchases`` (unique
receipt per request, random card, accrual and redemption) and ``POST /api/v1/purchases/calculate``.
pgbench tpcb-like runs with the same number of clients right after each HTTP run.
Writes the figures to docs/benchmarks.md (section "POS API over HTTP").
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import purchase_service as ps  # noqa: E402
import report  # noqa: E402

ROOT = ps.ROOT

LUA = r"""
local counter = 0
local path = "%(path)s"
local customers = %(customers)d
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
function init(args)
  math.randomseed(os.time() + tid * 7919)
end
request = function()
  counter = counter + 1
  local card = 100000 + math.random(0, customers - 1)
  local amount = math.random(200, 3000)
  local redeem = math.random(0, 60)
  local body = string.format('{"card": "%%d", "amount": "%%d.00", "redeem_points": "%%d.00", "receipt_id": "w%%d-%%d-%%d"}',
                             card, amount, redeem, tid, counter, math.random(1, 1000000000))
  if path:find("calculate") then
    body = string.format('{"card": "%%d", "amount": "%%d.00", "redeem_points": "%%d.00"}', card, amount, redeem)
  end
  return wrk.format("POST", path, {["Authorization"] = "Bearer %(key)s", ["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status >= 300 then errors_seen = (errors_seen or 0) + 1 end
end
"""


def api_key() -> str:
    ps._django()
    from kopilka.accounts.models import Business, PointOfSale
    from kopilka.pos.services import create_api_key

    business = Business.objects.get(slug="bench")
    till = PointOfSale.objects.get(business=business, code="till")
    return create_api_key(business=business, name=f"bench-{time.time():.0f}", point_of_sale=till, actor=None).key


def start_server(port: int, workers: int, extra: list[str]) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=f"{ps.PG}/{ps.DB}",
        KOPILKA_LOG_LEVEL="WARNING",
        KOPILKA_API_RATE_LIMIT="100000000",
        KOPILKA_DEBUG="0",
    )
    cmd = [sys.executable, "-m", "gunicorn", "kopilka.wsgi:application", "--preload", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--log-level", "warning", *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def run_wrk(port: int, path: str, key: str, clients: int, seconds: int, customers: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"path": path, "key": key, "customers": customers})
        script = f.name
    out = subprocess.run(
        ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds}s", "--latency", "--timeout", "10s", "-s", script,
         f"http://127.0.0.1:{port}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    os.unlink(script)

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return 0.0
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


SERVERS = [
    ("sync", []),  # one request per worker at a time: the setup for a POS API behind a reverse proxy
    ("gthread ×4", ["--threads", "4"]),  # what `manage.py serve` runs (slow clients, streaming exports)
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="measure each server this many times")
    parser.add_argument("--prepare", action="store_true", help="create the bench database first")
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    if args.prepare:
        ps.prepare(args.customers)
    ps._psql(f"DROP DATABASE IF EXISTS {ps.PGBENCH_DB}")
    ps._psql(f"CREATE DATABASE {ps.PGBENCH_DB}")
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", f"{ps.PG}/{ps.PGBENCH_DB}"], check=True, capture_output=True)
    key = api_key()
    workers = 2 * (os.cpu_count() or 1)
    rows = []
    for _round in range(args.rounds):
        for server_name, extra in SERVERS:
            server = start_server(args.port, workers, extra)
            try:
                for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):  # warm-up: every worker, both paths
                    run_wrk(args.port, path, key, args.clients, 3, args.customers)
                for name, path in [("POST /api/v1/purchases", "/api/v1/purchases"),
                                   ("POST /api/v1/purchases/calculate", "/api/v1/purchases/calculate")]:  # fmt: skip
                    ps._psql("CHECKPOINT")  # both sides start from the same state of the WAL
                    http = run_wrk(args.port, path, key, args.clients, args.seconds, args.customers)
                    ps._psql("CHECKPOINT")
                    pgb = ps.run_pgbench(args.clients, args.seconds)
                    ratio = http["rps"] / pgb if pgb else 0.0
                    rows.append((server_name, name, http, pgb, ratio))
                    print(
                        f"{server_name:10s} {name:34s} {http['rps']:8.1f}/s p50 {http['p50_ms']:.1f} ms "
                        f"p99 {http['p99_ms']:.1f} ms non-2xx {http['non2xx']:.0f} | pgbench {pgb:8.1f}/s | ratio {ratio:.1%}",
                        flush=True,
                    )  # fmt: skip
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
    write_report(rows, args, workers)


def write_report(
    rows: list[tuple[str, str, dict[str, float], float, float]], args: argparse.Namespace, workers: int
) -> None:
    head = "## POS API over HTTP vs pgbench tpcb-like"
    body = [
        head,
        "",
        f"Run `uv run python bench/purchase_api.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; gunicorn "
        f"{workers} workers, `--preload`; wrk with {args.clients} connections for {args.seconds} s; {args.customers} "
        "customers; pgbench tpcb-like with the same number of clients right after each HTTP run).",
        "",
        "| gunicorn | endpoint | requests/s | p50 ms | p99 ms | non-2xx | pgbench /s | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for server_name, name, h, pgb, ratio in rows:
        body.append(
            f"| {server_name} | `{name}` | {h['rps']:.1f} | {h['p50_ms']:.1f} | {h['p99_ms']:.1f} | {h['non2xx']:.0f} "
            f"| {pgb:.1f} | {ratio:.1%} |"
        )
    report.replace_section(head, body)


if __name__ == "__main__":
    main()
