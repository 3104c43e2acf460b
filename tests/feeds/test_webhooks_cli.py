"""``orgbook webhooks …`` as an operator runs them: subscriber keys, the subscription list, pause
and resume, and ``deliver --once`` to a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orgbook import cli
from orgbook.feeds import webhooks
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from tests.factories import build_registry
from tests.feeds.receiver import Receiver, running_receiver
from tests.feeds.test_webhooks import expected

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = build_registry(tmp_path, 3)
    yield reg
    reg.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def orgbook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], registry: Registry
) -> Run:
    """``orgbook webhooks ARGS… --db URL`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.delenv("ORGBOOK_DATABASE_URL", raising=False)
    data_dir = Path(registry.settings.data_dir)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(
            ["webhooks", *args, "--db", registry.settings.database_url, "--data-dir", str(data_dir)]
        )
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _subscription(registry: Registry, receiver: Receiver, subscriber_id: str) -> Any:
    with registry.engine.begin() as conn:
        sub = webhooks.create_subscription(
            conn, subscriber_id, url=receiver.url, filter_kind="all", filter_value=None, after=-1
        )
    receiver.secrets[sub.id] = sub.secret
    return sub


def test_subscribers_subscriptions_pause_resume_and_deliver(
    orgbook: Run, registry: Registry, receiver: Receiver
) -> None:
    code, out, _ = orgbook("subscriber", "create", "Bank of Test")
    assert code == 0
    heading, key = out.splitlines()
    subscriber_id = heading.split()[1]
    assert heading == f"subscriber {subscriber_id} (Bank of Test); API key (shown once):"
    assert key.startswith("obs_")
    with reading(registry.engine) as conn:
        assert webhooks.authenticate_subscriber(conn, key) == subscriber_id

    code, out, _ = orgbook("subscriber", "list")
    assert code == 0
    listed = json.loads(out)
    assert [(s["id"], s["name"], s["revoked"]) for s in listed] == [
        (subscriber_id, "Bank of Test", False)
    ]
    assert key not in out

    sub = _subscription(registry, receiver, subscriber_id)
    code, out, _ = orgbook("list")
    assert code == 0
    [shown] = json.loads(out)
    assert (shown["id"], shown["subscriber"], shown["status"]) == (sub.id, subscriber_id, "active")

    # Paused: deliver --once sends nothing; resumed: it sends every entry, in order.
    code, out, _ = orgbook("pause", sub.id)
    assert code == 0
    assert json.loads(out)["status"] == "paused"
    code, _, err = orgbook("deliver", "--once")
    assert code == 0
    assert err.strip() == "orgbook webhooks: 0 deliveries"
    assert receiver.accepted == []

    code, out, _ = orgbook("resume", sub.id)
    assert code == 0
    assert json.loads(out)["status"] == "active"
    want = expected(registry, sub, -1)
    assert want
    delivered = 0
    for _ in range(len(want)):  # each run delivers what is due; a bounded number of runs
        code, _, err = orgbook("deliver", "--once")
        assert code == 0
        delivered += int(err.split()[2])
        if delivered >= len(want):
            break
    assert delivered == len(want)
    assert receiver.indices(sub.id) == want
    assert receiver.rejected == []

    # Revoking the subscriber pauses its subscriptions; unknown ids are refused with exit 2.
    code, out, _ = orgbook("subscriber", "revoke", subscriber_id)
    assert code == 0
    assert out.strip() == f"subscriber {subscriber_id} revoked; its subscriptions are paused"
    code, out, _ = orgbook("list")
    assert json.loads(out)[0]["status"] == "paused"
    code, out, _ = orgbook("subscriber", "list")
    assert json.loads(out)[0]["revoked"] is True
    for args in (("pause", "nope"), ("resume", "nope"), ("subscriber", "revoke", "nope")):
        code, _, err = orgbook(*args)
        assert code == 2, args
        assert err.startswith("orgbook: ")


def test_deliver_runs_until_sigterm(registry: Registry, receiver: Receiver) -> None:
    with registry.engine.begin() as conn:
        subscriber = webhooks.create_subscriber(conn, "Bank of Test")
    sub = _subscription(registry, receiver, subscriber.id)
    want = expected(registry, sub, -1)
    env = {**os.environ, "ORGBOOK_DATABASE_URL": registry.settings.database_url}
    argv = [sys.executable, "-m", "orgbook", "webhooks", "deliver", "--interval", "0.05"]
    worker = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until everything arrived (or the worker died): not a timing bound
            if len(receiver.indices(sub.id)) >= len(want) or worker.poll() is not None:
                break
            threading.Event().wait(0.1)
        assert worker.poll() is None, "the worker exited on its own"
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert "delivering (Ctrl-C to stop)" in err
    assert receiver.indices(sub.id) == want
