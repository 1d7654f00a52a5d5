"""``newsletter.files.write_whole``: the one way the tool replaces a file outside a staged
folder. A reader sees the old file or the new one, a failure leaves no stray temporary file,
and the file gets the mode it would have had if made the usual way."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from newsletter.files import new_file_mode, write_whole


def test_a_new_file_gets_the_umask_mode_not_the_temporary_file_s(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    assert write_whole(target, b"{}") is True
    assert target.read_bytes() == b"{}"
    assert stat.S_IMODE(target.stat().st_mode) == new_file_mode() != 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_replaced_file_takes_the_given_mode_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "issue.yaml"
    target.write_bytes(b"old")
    before = target.stat().st_ino
    write_whole(target, b"new", mode=0o640, durable=True)
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != before  # renamed into place, not written over
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_without_replace_an_existing_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"theirs")
    assert write_whole(target, b"ours", replace=False) is False
    assert target.read_bytes() == b"theirs"
    assert write_whole(tmp_path / "other.jpg", b"ours", replace=False) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.jpg", "photo.jpg"]


def test_a_failed_write_raises_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        write_whole(tmp_path / "taken", b"data")  # a folder holds the name
    assert sorted(os.listdir(tmp_path)) == ["taken"]
    with pytest.raises(FileNotFoundError):
        write_whole(tmp_path / "missing" / "a.txt", b"data")


def test_within_is_by_whole_folder_names() -> None:
    from newsletter.files import within

    assert within("/ws/issues/a.yaml", "/ws") and within("/ws/a", "/ws/")
    assert not within("/ws2/a", "/ws") and not within("/ws", "/ws")
    assert within("/anything", "/")
