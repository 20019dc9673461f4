"""Group commit: concurrency, durability on SIGKILL, and failure propagation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bastion.audit.events import EventDraft
from bastion.audit.store import AuditQuery
from bastion.audit.verify import verify_log
from bastion.audit.writer import AuditWriter
from bastion.config import Secret, Settings
from bastion.crypto.keyring import generate_master_key
from bastion.errors import AuditError
from bastion.workspace import create_workspace, open_workspace
from tests.conftest import Env


def _draft(i: int) -> EventDraft:
    return EventDraft(
        ts_us=1_000 + i,
        actor=f"t{i % 5}",
        action="bench.append",
        resource=f"r/{i}",
        outcome="success",
        source="test",
        request_id=f"{i:032x}",
        details={"i": i},
    )


def test_concurrent_producers_get_unique_contiguous_seqs(env: Env) -> None:
    writer = AuditWriter(env.ws.audit_store, batch_max=64)
    start = env.ws.audit_store.head()[0]
    results: list[int] = []
    lock = threading.Lock()

    def produce(base: int) -> None:
        mine = [writer.append(_draft(base + k)) for k in range(50)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=produce, args=(t * 1000,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert sorted(results) == list(range(start + 1, start + 401))
    s = env.ws.audit_store
    assert verify_log(s, s.signer.public_key, s.signer.key_id).events == start + 400


def test_failed_commit_reaches_every_waiter() -> None:
    class Broken:
        def append_encoded(self, items: object) -> list[int]:
            raise AuditError("disk full")

    writer = AuditWriter(Broken(), batch_max=8)  # type: ignore[arg-type]
    futures = [writer.submit(_draft(i)) for i in range(5)]
    for f in futures:
        with pytest.raises(AuditError):
            f.result(timeout=10)
    writer.close()
    with pytest.raises(AuditError):
        writer.submit(_draft(0))


CHILD = r"""
import sys
from pathlib import Path
from bastion.audit.events import EventDraft
from bastion.audit.store import AuditQuery
from bastion.config import Secret, Settings
from bastion.workspace import open_workspace

ws = open_workspace(Settings(workspace=Path(sys.argv[1]), master_key=Secret(sys.argv[2]),
                             state_dir=Path(sys.argv[1]) / "state"))
i = 0
while True:
    futures = [ws.audit.submit(EventDraft(ts_us=i + k, actor="crash", action="crash.append",
                                           resource=f"r/{i + k}", outcome="success",
                                           source="test", request_id="x", details={"i": i + k}))
               for k in range(37)]
    for f in futures:
        # An event counts as acknowledged only once its future resolved.
        print(f.result(), flush=True)
    i += 37
"""


@pytest.mark.slow
def test_sigkill_during_appends_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    master = generate_master_key()
    settings = Settings(workspace=tmp_path, master_key=Secret(master), state_dir=tmp_path / "st")
    ws, _ = create_workspace(settings)
    ws.close()
    acknowledged: list[int] = []
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), master],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while len(acknowledged) < 3000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(int(line))
        proc.send_signal(signal.SIGKILL)
        acknowledged += [int(x) for x in proc.stdout.read().split()]
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 3000, "the writer should have been appending when killed"

    ws = open_workspace(settings)
    try:
        s = ws.audit_store
        report = verify_log(s, s.signer.public_key, s.signer.key_id)
        assert report.last_seq >= max(acknowledged)
        stored = {e.seq for e in s.query(AuditQuery(action="crash.append"))}
        assert set(acknowledged) <= stored
    finally:
        ws.close()


def test_flush_waits_for_the_group_being_committed(env: Env) -> None:
    import threading as th

    release = th.Event()
    store = env.ws.audit_store
    real = store.append_encoded

    class Slow:
        def append_encoded(self, items: list[tuple[int, str]]) -> list[int]:
            release.wait(10)
            return real(items)

    writer = AuditWriter(Slow(), batch_max=8)  # type: ignore[arg-type]
    receipt = writer.submit(_draft(1))
    flushed = th.Event()
    t = th.Thread(target=lambda: (writer.flush(), flushed.set()))
    # Let the writer take the group into its commit before flushing.
    while writer._committing is None:
        th.Event().wait(0.001)
    t.start()
    assert not flushed.wait(0.2)
    release.set()
    t.join(10)
    assert flushed.is_set() and receipt.done()
    writer.close()
