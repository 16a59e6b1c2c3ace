"""Benchmark: ``confirm_purchase`` called directly (no HTTP) vs pgbench tpcb-like, on one PostgreSQL.

    uv run python bench/purchase_service.py [--customers 100000] [--seconds 15] [--workers 1,4,16]

Creates a fresh database ``kopilka_bench`` (and ``kopilka_pgbench`` for pgbench) on the server of
``BENCH_PG`` (default ``postgres://postgres@127.0.0.1:5432``), generates the customers and cards,
then runs worker *processes* (the GIL would serialise threads) that each confirm purchases with
accrual and redemption on random cards for the given time. pgbench runs the same shape of work
(update a balance, insert a history row) with the same client counts, in the same run.
Prints the figures and writes them to docs/benchmarks.md (section "confirm_purchase").
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import report

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "kopilka_bench"
PGBENCH_DB = "kopilka_pgbench"


def _psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qAtc", sql], check=True, capture_output=True)


def _django(db: str = DB) -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    os.environ.setdefault("KOPILKA_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(customers: int) -> None:
    _psql(f"DROP DATABASE IF EXISTS {DB}")
    _psql(f"CREATE DATABASE {DB}")
    env = dict(os.environ, DATABASE_URL=f"{PG}/{DB}", KOPILKA_LOG_LEVEL="WARNING")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env)
    _django()
    from django.db import transaction
    from django.utils import timezone

    from kopilka.accounts.models import Business, PointOfSale
    from kopilka.cards.models import Card, CardTemplate
    from kopilka.customers.models import Customer
    from kopilka.loyalty.models import LedgerEntry, Level, Mechanic

    now = timezone.now()
    business = Business.objects.create(slug="bench", name="Bench")
    PointOfSale.objects.create(business=business, code="till", name="Till")
    mechanic = Mechanic.objects.create(business=business, name="Bonus", kind="bonus")
    for i, (threshold, accrual) in enumerate([(0, 5), (10_000, 7), (50_000, 10)]):
        Level.objects.create(
            mechanic=mechanic, name=f"L{i}", threshold=Decimal(threshold), accrual_percent=Decimal(accrual),
            redeem_max_percent=Decimal(30), discount_percent=Decimal(0), order=i,
        )  # fmt: skip
    first_level = mechanic.levels.order_by("threshold").first()
    template = CardTemplate.objects.create(business=business, name="Bonus", type="bonus", mechanic=mechanic)
    batch = 5000
    opening = Decimal("1000.00")
    for start in range(0, customers, batch):
        with transaction.atomic():
            people = Customer.objects.bulk_create(
                Customer(business=business, phone=f"+7900{n:07d}", first_name=f"C{n}")
                for n in range(start, min(start + batch, customers))
            )
            cards = Card.objects.bulk_create(
                Card(
                    business=business, template=template, customer=c, number=str(100000 + start + i),
                    barcode_payload=str(100000 + start + i), referral_code=f"R{start + i:08d}",
                    status="active", balance=opening, level=first_level, verified_at=now,
                )  # fmt: skip
                for i, c in enumerate(people)
            )
            LedgerEntry.objects.bulk_create(
                LedgerEntry(
                    business=business, card=card, kind="import", amount=opening, balance_after=opening,
                    remaining=opening, available_at=now, created_at=now, reason="bench",
                )  # fmt: skip
                for card in cards
            )
    _psql("VACUUM ANALYZE", db=DB)


def _worker(seconds: float, customers: int, seed: int, results: mp.Queue, start: Any) -> None:  # type: ignore[type-arg]
    import random

    _django()
    from django.db import connection

    from kopilka.accounts.models import Business, PointOfSale
    from kopilka.loyalty import selectors, services

    business = Business.objects.get(slug="bench")
    till = PointOfSale.objects.get(business=business, code="till")
    rnd = random.Random(seed)
    done = errors = 0
    latencies = []
    start.wait()  # every worker has imported Django and connected: the clock starts for all at once
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        number = str(100000 + rnd.randrange(customers))
        t0 = time.perf_counter()
        try:
            card = selectors.card_by_code(business=business, code=number)  # as the API and the cashier do
            services.confirm_purchase(
                business=business, card=card, amount=Decimal(rnd.randrange(200, 3000)),
                redeem_points=Decimal(rnd.randrange(0, 60)), point_of_sale=till,
                receipt_id=f"w{seed}-{done}-{rnd.random()}",
            )  # fmt: skip
            done += 1
        except Exception:  # noqa: BLE001 - a failed purchase is counted, not fatal, in a benchmark
            errors += 1
        latencies.append(time.perf_counter() - t0)
    connection.close()
    results.put((done, errors, latencies))


def run_service(workers: int, seconds: float, customers: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    start = ctx.Barrier(workers)
    procs = [
        ctx.Process(target=_worker, args=(seconds, customers, 1000 * workers + i, results, start))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    total = errors = 0
    latencies: list[float] = []
    for _ in procs:
        d, e, lat = results.get()
        total, errors = total + d, errors + e
        latencies += lat
    for p in procs:
        p.join()
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0  # noqa: E731
    return {"tps": total / seconds, "errors": errors, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def run_pgbench(clients: int, seconds: int) -> float:
    out = subprocess.run(
        ["pgbench", "-n", "-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
         f"{PG}/{PGBENCH_DB}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    match = re.search(r"tps = ([\d.]+)", out)
    return float(match.group(1)) if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", default="1,4,16")
    parser.add_argument("--skip-prepare", action="store_true")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    if not args.skip_prepare:
        t0 = time.perf_counter()
        prepare(args.customers)
        print(f"prepared {args.customers} customers in {time.perf_counter() - t0:.0f} s", flush=True)
    _psql(f"DROP DATABASE IF EXISTS {PGBENCH_DB}")
    _psql(f"CREATE DATABASE {PGBENCH_DB}")
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", f"{PG}/{PGBENCH_DB}"], check=True, capture_output=True)
    run_service(max(workers), min(args.seconds, 5), args.customers)  # warm-up: caches, hint bits; not counted
    rows = []
    for w in workers:
        _psql("CHECKPOINT")  # both sides start from the same state of the WAL
        service = run_service(w, args.seconds, args.customers)
        _psql("CHECKPOINT")
        pgb = run_pgbench(w, int(args.seconds))
        ratio = service["tps"] / pgb if pgb else 0.0
        rows.append((w, service, pgb, ratio))
        print(
            f"workers={w:>2}  confirm_purchase {service['tps']:8.1f}/s (p50 {service['p50_ms']:.1f} ms, "
            f"p99 {service['p99_ms']:.1f} ms, errors {service['errors']:.0f})  pgbench {pgb:8.1f}/s  ratio {ratio:.1%}",
            flush=True,
        )
    write_report(rows, args)


def write_report(rows: list[tuple[int, dict[str, float], float, float]], args: argparse.Namespace) -> None:
    head = "## confirm_purchase (service, no HTTP) vs pgbench tpcb-like"
    body = [
        head,
        "",
        f"Run `uv run python bench/purchase_service.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"{args.customers} customers, {args.seconds:.0f} s per point, PostgreSQL on the same machine).",
        "",
        "| workers | confirm_purchase /s | p50 ms | p99 ms | errors | pgbench tpcb-like /s | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for w, s, pgb, ratio in rows:
        body.append(
            f"| {w} | {s['tps']:.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['errors']:.0f} | {pgb:.1f} | {ratio:.1%} |"
        )
    report.replace_section(head, body)


if __name__ == "__main__":
    main()
