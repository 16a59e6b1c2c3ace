"""Operator commands: create_business, seed_demo, scheduler, serve."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from kopilka.accounts.models import Business, EmailCode, Membership, Role, User
from kopilka.core import scheduler
from kopilka.core.models import SchedulerSlot


def _run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


# --- create_business ------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_business_prints_the_slug_last_and_a_generated_password(client) -> None:  # type: ignore[no-untyped-def]
    lines = _run("create_business", "--name", "Кофейня Зерно", "--owner-email", "Owner@Zerno.example")

    assert lines[-1] == "kofeynya-zerno"
    assert lines[0].startswith("owner: owner@zerno.example ")
    password = lines[0].split(" ", 2)[2]
    assert len(password) >= 12
    business = Business.objects.get(slug="kofeynya-zerno")
    assert business.name == "Кофейня Зерно"
    membership = Membership.objects.get(business=business)
    assert membership.is_owner
    assert membership.user.email == "owner@zerno.example"
    assert Role.objects.filter(business=business).count() == 5
    response = client.post(reverse("accounts:login"), {"username": "owner@zerno.example", "password": password})
    assert response.status_code == 302


@pytest.mark.django_db
def test_create_business_with_a_given_password_prints_only_the_slug() -> None:
    lines = _run(
        "create_business", "--name", "Salon", "--owner-email", "s@example.com", "--password", "Given-pass-2026"
    )

    assert lines == ["salon"]
    assert User.objects.get(email="s@example.com").check_password("Given-pass-2026")


@pytest.mark.django_db
def test_second_business_of_the_same_owner_gets_its_own_slug() -> None:
    _run("create_business", "--name", "Salon", "--owner-email", "s@example.com", "--password", "Given-pass-2026")
    lines = _run("create_business", "--name", "Salon", "--owner-email", "s@example.com")

    assert lines == ["salon-2"]
    assert Membership.objects.filter(user__email="s@example.com", is_owner=True).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Cafe", "--owner-email", "not-an-email"], "is not a valid e-mail address"),
        (["--name", "   ", "--owner-email", "a@example.com"], "--name must not be empty"),
        (["--name", "", "--owner-email", "a@example.com"], "--name must not be empty"),
        (["--name", "Cafe", "--owner-email", "a@example.com", "--password", "123"], "--password"),
    ],
)
def test_create_business_refuses_bad_input_and_creates_nothing(args, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=message):
        _run("create_business", *args)

    assert not Business.objects.exists()
    assert not User.objects.exists()


# --- seed_demo ------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_the_owner_login_last(client) -> None:  # type: ignore[no-untyped-def]
    first = _run("seed_demo")
    after_first = _counts()
    second = _run("seed_demo")
    after_second = _counts()

    assert first[-1] == "owner: owner@demo.kopilka.local kopilka-demo"
    assert second == first
    changed = {k: (after_first[k], after_second[k]) for k in after_first if after_first[k] != after_second[k]}
    assert changed == {}
    assert after_first["accounts.Business"] == 1
    _label, email, password = first[-1].split(" ")
    response = client.post(reverse("accounts:login"), {"username": email, "password": password})
    assert response.status_code == 302
    assert client.get(reverse("core:home")).context["business"].slug == "demo"
    # The customer journey works in the demo: the printed registration link opens the bonus card's form.
    registration = next(line for line in first if line.startswith("registration: "))
    path = registration.removeprefix("registration: ").removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200
    assert 'name="first_name"' in page.content.decode()


# --- scheduler ------------------------------------------------------------------------------


def _expired_code() -> EmailCode:
    long_ago = timezone.now() - timedelta(days=3)
    return EmailCode.objects.create(email="x@example.com", purpose="signup", code_hash="x", expires_at=long_ago)


@pytest.mark.django_db(transaction=True)
def test_scheduler_once_enqueues_each_job_once_per_slot(time_machine) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to("2026-06-01 10:00:30+00:00", tick=False)
    job_names = [job.name for job in scheduler.jobs()]
    _expired_code()

    _run("scheduler", "--once")
    first_slots = set(SchedulerSlot.objects.values_list("job", "due_at"))
    assert not EmailCode.objects.exists()  # prune_email_codes ran (immediate backend)
    left_over = _expired_code()
    _run("scheduler", "--once")

    assert sorted(job for job, _due in first_slots) == sorted(job_names)
    assert set(SchedulerSlot.objects.values_list("job", "due_at")) == first_slots
    assert EmailCode.objects.filter(pk=left_over.pk).exists()  # not enqueued a second time in the slot

    time_machine.move_to("2026-06-01 11:00:30+00:00", tick=False)
    _run("scheduler", "--once")

    assert not EmailCode.objects.exists()
    assert SchedulerSlot.objects.filter(job="accounts.prune_email_codes").count() == 2
    assert SchedulerSlot.objects.filter(job="core.prune_scheduler_slots").count() == 1


@pytest.mark.django_db
def test_scheduler_refuses_a_non_positive_interval() -> None:
    with pytest.raises(CommandError, match="--interval must be positive"):
        _run("scheduler", "--once", "--interval", "0")
    assert not SchedulerSlot.objects.exists()


# --- serve ----------------------------------------------------------------------------------
# Not a database test: the platform runs in subprocesses on its own SQLite file in a temporary
# directory, so this runs the same with DATABASE_URL pointing at PostgreSQL.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process tree from /proc")
def test_serve_runs_web_worker_and_scheduler_and_stops_on_sigterm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "KOPILKA_DATA_DIR": str(tmp_path),
        "KOPILKA_PUBLIC_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("KOPILKA_PUBLIC_URL")
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    proc = subprocess.Popen(
        [sys.executable, manage, "serve", "--port", str(port), "--web-workers", "1"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output.append(line)
            if "Kopilka is running at" in line:
                break
        assert any("Kopilka is running at" in line for line in output), "".join(output)
        assert f"http://localhost:{port}/" in output[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:  # noqa: S310
            assert response.read() == b"ok"
        children = _descendants(proc.pid)
        assert len(children) >= 4  # gunicorn master + worker, task worker, scheduler

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0

        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
