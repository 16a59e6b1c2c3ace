"""Benchmark: Apple passes built + signed per second on one core vs ``openssl speed rsa2048`` signs/s,
and APNs fan-out end to end (outbox → consumer → HTTP/2 pushes to a local fake APNs).

    uv run python bench/wallet.py [--seconds 5] [--fanout 10000]

Both are pinned to one CPU (``os.sched_setaffinity`` / ``taskset``) and measured in the same run.
The fan-out part uses a throwaway SQLite database in a temporary directory (or ``DATABASE_URL``).
Prints the figures and writes them to docs/benchmarks.md (section "Wallet").
"""

# ruff: noqa: S106 - "pass_type_id" is not a password
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import report

ROOT = Path(__file__).resolve().parent.parent
HEAD = "## Wallet: pass build + sign, APNs fan-out"


def _pin() -> list[str]:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        return []
    cpu = next(iter(os.sched_getaffinity(0)))
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []


def openssl_signs_per_second(seconds: int, prefix: list[str]) -> float:
    out = subprocess.run([*prefix, "openssl", "speed", "-mr", "-seconds", str(seconds), "rsa2048"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    # "+F2:<n>:2048:<sign seconds>:<verify seconds>" (OpenSSL 3: one line per key size)
    match = re.search(r"^\+F2:\d+:2048:([0-9.e-]+):([0-9.e-]+)", out, re.MULTILINE)
    if not match:
        raise RuntimeError("cannot read openssl speed output:\n" + out)
    value = float(match.group(1))
    return value if value > 1 else 1.0 / value  # OpenSSL 3 prints rates, 1.1 printed seconds per sign


def _django(data_dir: Path) -> None:
    os.environ.setdefault("KOPILKA_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    os.environ.setdefault("KOPILKA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("KOPILKA_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def passes_per_second(seconds: float) -> tuple[float, int]:
    from kopilka.wallet import certificates, pkpass

    chain = certificates.development_chain(pass_type_id="pass.bench.kopilka", team_id="BENCH", organization="Bench")
    signer = pkpass.Signer(chain.pass_cert, chain.pass_key, chain.intermediate)
    locations = tuple(pkpass.Location(55.7 + i / 100, 37.6, f"Point {i}") for i in range(3))

    def data(n: int) -> pkpass.PassData:
        return pkpass.PassData(
            serial_number=f"S{n:012d}", authentication_token="t" * 32, web_service_url="https://k.example/wallet/",
            pass_type_id="pass.bench.kopilka", team_id="BENCH", organization_name="Кофейня «Зерно»",
            description="Бонусная карта", template_type="bonus", card_number=f"{n:08d}", barcode_payload=f"K{n:08d}",
            customer_name="Анна Смирнова", balance=Decimal(n % 1000), level_name="Серебро", referral_code="REF12345",
            locations=locations,
        )  # fmt: skip

    pkpass.build(data(0), signer)  # warm the image cache
    # CPU time of this process, as `openssl speed` divides by CPU user time (not wall time) by default:
    # on a shared, loaded machine wall time would measure the neighbours.
    count, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        pkpass.build(data(count), signer)
        count += 1
    size = len(pkpass.build(data(1), signer))
    return count / elapsed, size


def fanout(n: int, workers: int = 0) -> dict[str, float]:
    """n cards with one registered device each, one points.changed per card, one consumer run."""
    from cryptography.hazmat.primitives import serialization
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from kopilka.accounts import services as accounts
    from kopilka.accounts.models import User
    from kopilka.cards.models import Card, CardTemplate
    from kopilka.core.models import OutboxCursor, OutboxEvent
    from kopilka.customers.models import Customer
    from kopilka.wallet import certificates, services, updates
    from kopilka.wallet.models import DeviceRegistration, PassState

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email=f"bench{time.time_ns()}@example.com", password="bench-password-1")
    business = accounts.create_business(owner=owner, name="Bench", accept_terms=True)
    chain = certificates.development_chain(pass_type_id="pass.bench.fanout", team_id="BENCH", organization="Bench")
    services.save_apple_certificate(business=business, certificate=certificates.pass_certificate(
        chain.pass_cert, chain.pass_key), intermediate=chain.intermediate)  # fmt: skip
    template = CardTemplate.objects.create(business=business, name="Bench", type="bonus")
    customers = Customer.objects.bulk_create(
        [Customer(business=business, phone=f"+7999{i:07d}") for i in range(n)], batch_size=2000
    )
    cards = Card.objects.bulk_create(
        [Card(business=business, template=template, customer=c, number=f"{i:08d}", barcode_payload=f"B{i:08d}",
              referral_code=f"R{i:08d}") for i, c in enumerate(customers)], batch_size=2000,
    )  # fmt: skip
    now = timezone.now()
    states = PassState.objects.bulk_create(
        [PassState(business=business, card=c, serial_number=f"S{i:010d}", authentication_token="a" * 32,
                   download_token=f"D{i:030d}", tag=1, updated_at=now) for i, c in enumerate(cards)], batch_size=2000,
    )  # fmt: skip
    DeviceRegistration.objects.bulk_create(
        [DeviceRegistration(business=business, pass_state=s, device_library_identifier=f"dev{i}",
                            push_token=f"{i:064x}") for i, s in enumerate(states)], batch_size=2000,
    )  # fmt: skip
    OutboxCursor.objects.update_or_create(
        consumer="wallet", defaults={"last_id": OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0}
    )  # fmt: skip
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(business=business, name="points.changed", payload={"card_id": c.pk}) for c in cards],
        batch_size=2000,
    )
    workdir = Path(tempfile.mkdtemp(prefix="kopilka-apns-"))
    server_cert, server_key = certificates.server_certificate(chain.root, chain.root_key)
    (workdir / "server.pem").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM) + server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    (workdir / "ca.pem").write_bytes(chain.pem(chain.root) + chain.pem(chain.intermediate))
    (workdir / "root.pem").write_bytes(chain.pem(chain.root))
    # The fake runs in its own process so that it does not share the client's GIL.
    context = mp.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve_fake, args=(str(workdir), queue, stop), daemon=True)
    server.start()
    settings.KOPILKA_APNS_URL = f"https://127.0.0.1:{queue.get(timeout=60)}"
    settings.KOPILKA_APNS_CA_FILE = str(workdir / "root.pem")
    start, cpu_start = time.perf_counter(), time.process_time()
    totals = updates.run()
    if workers:
        # The consumer only enqueued push tasks: task workers (own processes) send them.
        env = dict(os.environ, KOPILKA_APNS_URL=settings.KOPILKA_APNS_URL,
                   KOPILKA_APNS_CA_FILE=settings.KOPILKA_APNS_CA_FILE)  # fmt: skip
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "db_worker",
                    "--batch",
                    "--no-startup-delay",
                    "--skip-checks",
                    "--worker-id",
                    f"bench-{i}",
                ],
                env=env,
                cwd=ROOT,
            )  # fmt: skip
            for i in range(workers)
        ]
        for proc in procs:
            proc.wait(timeout=600)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    stop.set()
    received, fake_cpu = queue.get(timeout=60)
    server.join(10)
    return {"pushes": totals["pushed"], "received": received, "seconds": elapsed, "per_second": received / elapsed,
            "cpu_seconds": cpu, "per_cpu_second": received / cpu if not workers else 0.0, "workers": workers,
            "fake_cpu_seconds": fake_cpu}  # fmt: skip


def _serve_fake(workdir: str, queue: Any, stop: Any) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.wallet.apns_fake import FakeAPNs

    with FakeAPNs(Path(workdir) / "server.pem", Path(workdir) / "ca.pem") as fake:
        queue.put(fake.port)
        cpu_start = time.process_time()
        stop.wait()
        queue.put((len(fake.requests), time.process_time() - cpu_start))


def write_report(figures: dict[str, object]) -> None:
    lines = [
        HEAD,
        "",
        f"Run `uv run python bench/wallet.py --seconds {figures['seconds']} --fanout {figures['fanout']}` "
        f"({datetime.now(UTC).date().isoformat()}, {platform.machine()}, {os.cpu_count()} CPUs on the machine, "
        f"pinned to one core, {figures['openssl']}, load average {figures['load']}).",
        "",
        "Both figures divide by CPU time (`openssl speed` default; the pass loop uses `time.process_time()`),",
        "so neighbours on a shared machine do not distort the ratio.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| passes built + signed per second (one core, {figures['pass_kb']:.1f} KB each) | {figures['passes']:.1f} |",
        f"| `openssl speed rsa2048` signs per second (same core, same run) | {figures['signs']:.1f} |",
        f"| ratio (target ≥ 25 %) | {figures['ratio']:.1%} |",
    ]
    if figures.get("fanout_result"):
        f = figures["fanout_result"]
        assert isinstance(f, dict)
        lines += [
            f"| APNs fan-out: {f['received']} pushes through outbox → consumer → local HTTP/2 fake (TLS), "
            f"{figures['db']}, one consumer process | {f['seconds']:.2f} s wall = {f['per_second']:.0f} pushes/s "
            f"(target ≥ 1000); {f['cpu_seconds']:.2f} CPU s in the consumer = {f['per_cpu_second']:.0f} pushes per "
            f"CPU second; the fake APNs used {f['fake_cpu_seconds']:.2f} CPU s |",
        ]
    lines += [
        "",
        "The pass figure is `pkpass.build` on a snapshot (pass.json, 6 cached PNGs, 2 strings files, manifest,",
        "detached CMS signature with SHA-256, zip); the database read per pass is not included.",
        "The fan-out figure includes the consumer's own transaction (cursor, tag bump) and HTTP/2 over TLS to a fake",
        "written in Python with `h2`, running in a separate process on the same machine; the load average of the",
        "shared machine during the run is given above, so the wall figure is a floor, the CPU figure the capacity.",
        "The fake checks path, token and topic (= the client certificate's UID) and answers from one thread per",
        "connection; its CPU is given so it is not mistaken for ours (it stands in for Apple's servers).",
        "",
        "Where the consumer's time goes (cProfile of the 10,000-push run, 2026-11-24): the pusher",
        "(`kopilka/wallet/apns.py`) drives `h2` directly over a blocking TLS socket, one connection per chunk of",
        "1,000 with 100 streams in flight, frames written and read in batches. Of its CPU about 40 % is h2",
        "building HEADERS frames (HPACK with Huffman-coded `:path`), 25 % parsing the responses, 10 % TLS",
        "read/write, 6 % DATA frames; the database work (outbox read, one UPDATE for the tags, the registration",
        "ids, one read per chunk, 410s unregistered per chunk in one transaction) is about 15 %. Before, httpx's",
        "HTTP/2 client with 4 connections × 8 streams spent ~1.5 ms of CPU per push in httpcore's per-request",
        "queue scans, tasks and locks: 419 pushes/s wall, 566 per consumer CPU second on the same machine.",
        "More streams per connection cost CPU (h2 counts the open streams on every new stream) and gain nothing",
        "on localhost; wall time is bounded by the two processes sharing 2 busy cores.",
        "",
    ]
    report.replace_section(HEAD, lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--fanout", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=0, help="task worker processes for the pushes (0: inline)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="kopilka-bench-"))
    if args.workers:
        os.environ["KOPILKA_TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
    _django(data_dir)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    prefix = _pin()
    signs = openssl_signs_per_second(args.seconds, prefix)
    passes, size = passes_per_second(args.seconds)
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True).stdout.strip()
    figures: dict[str, object] = {
        "seconds": args.seconds, "fanout": args.fanout, "signs": signs, "passes": passes, "ratio": passes / signs,
        "pass_kb": size / 1024, "openssl": version, "load": f"{os.getloadavg()[0]:.1f}",
        "db": "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite",
    }  # fmt: skip
    print(f"openssl rsa2048 signs/s: {signs:.1f}; passes/s: {passes:.1f}; ratio {passes / signs:.1%}")
    if args.fanout:
        if cpus:
            os.sched_setaffinity(0, cpus)  # the fake APNs gets its own core
        result = fanout(args.fanout, args.workers)
        figures["fanout_result"] = result
        print(
            f"APNs fan-out: {result['received']:.0f} pushes in {result['seconds']:.2f} s = {result['per_second']:.0f}/s"
            f" ({result['per_cpu_second']:.0f} per CPU second of the consumer, {args.workers} workers;"
            f" fake APNs {result['fake_cpu_seconds']:.2f} CPU s)"
        )
    if not args.no_write:
        write_report(figures)
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
