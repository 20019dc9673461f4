"""Edge cases of the vault's operating environment: concurrent key retirement, odd paths."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from bastion.errors import InvalidInput
from bastion.vault import objects
from bastion.vault.keys import retire, rotate
from bastion.vault.objects import Kind, add, get, list_objects
from tests.conftest import Env
from tests.vault.helpers import CHUNK, blob_files, events, orphan_keys, part_files, payload, write

DS = Kind.DATASET


def test_kek_destroyed_during_an_add_never_strands_the_new_object(
    vault_env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An add wraps its data key under the active KEK before it encrypts the file and
    commits the key afterwards. If an admin rotates and destroys that KEK version in
    between, the retire sees no committed key on v1; the add must then re-wrap its key
    under the new active version at commit, so the object reads back."""
    env = vault_env
    add(env.ws, env.admin, DS, write(tmp_path, "first.csv", b"first"), "first")
    real_encrypt = objects.encrypt_stream

    def rotate_and_destroy_mid_add(*args: Any, **kwargs: Any) -> Any:
        rotate(env.ws, env.admin)
        retire(env.ws, env.admin, 1, destroy=True)
        return real_encrypt(*args, **kwargs)

    monkeypatch.setattr(objects, "encrypt_stream", rotate_and_destroy_mid_add)
    data = payload(2 * CHUNK + 1)
    late = add(env.ws, env.admin, DS, write(tmp_path, "late.csv", data), "late")
    assert late.kek.startswith(f"{env.ws.key_provider.name}/v2 ")
    out = tmp_path / "late.out"
    get(env.ws, env.admin, DS, "late", out)
    assert out.read_bytes() == data
    assert orphan_keys(env) == []
    assert [i.name for i in list_objects(env.ws, env.admin, DS)] == ["first", "late"]


def test_get_into_a_missing_folder_is_a_clean_error(sqlite_vault_env: Env, tmp_path: Path) -> None:
    """``get`` into a folder that does not exist is a coded error, never a traceback."""
    env = sqlite_vault_env
    add(env.ws, env.admin, DS, write(tmp_path, "ds.csv", b"rows"), "ds")
    out = tmp_path / "missing" / "ds.bin"
    with pytest.raises(InvalidInput) as caught:
        get(env.ws, env.admin, DS, "ds", out)
    assert caught.value.code == "vault.no_such_folder"
    assert not out.parent.exists()
    (failed,) = events(env, "data.get")
    assert failed.outcome == "error"


def test_a_fifo_source_is_refused_without_blocking(sqlite_vault_env: Env, tmp_path: Path) -> None:
    """``bastion data add some-fifo`` fails with ``vault.not_a_file`` at once; opening a
    FIFO for reading must not block waiting for a writer."""
    env = sqlite_vault_env
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            add(env.ws, env.admin, DS, fifo, "piped")
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=2)  # returns at once unless add() is stuck in open()
    blocked = worker.is_alive()
    if blocked:
        # Let the stuck open() return: a writer that comes and goes.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
    assert not blocked, "add() blocked on a FIFO instead of refusing it"
    assert isinstance(outcome[0], InvalidInput)
    assert outcome[0].code == "vault.not_a_file"
    assert blob_files(env) == {} and part_files(env.ws.blob_dir) == []
