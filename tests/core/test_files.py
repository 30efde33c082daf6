"""Atomic writes: whole files or none, no temporary file left behind, the permissions each kind of file wants."""

from __future__ import annotations

import os
import stat

import pytest

from dive_py.errors import DivepyError
from dive_py.files import AtomicWriter, write_atomically, write_text_atomic


def _mode(path) -> int:  # noqa: ANN001
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_atomically_replaces_the_whole_file_and_makes_the_folder(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "entry"
    assert write_atomically(str(target), b"a long first version")
    assert write_atomically(str(target), b"short")
    assert target.read_bytes() == b"short"
    assert os.listdir(target.parent) == ["entry"]
    assert _mode(target) == 0o600  # cache files stay private


def test_write_atomically_reports_failure(tmp_path) -> None:
    (tmp_path / "file").write_bytes(b"")
    assert not write_atomically(str(tmp_path / "file" / "below"), b"x")  # a file where the folder should be


def test_a_writer_streams_chunks_and_commits(tmp_path) -> None:
    target = tmp_path / "blob"
    writer = AtomicWriter(str(target), prefix=".part-")
    assert os.path.basename(writer.temp).startswith(".part-")
    for chunk in (b"ab", b"cd", b"ef"):
        assert writer.write(chunk)
    assert not target.exists()  # nothing is seen before the commit
    assert writer.commit()
    assert target.read_bytes() == b"abcdef"
    assert os.listdir(tmp_path) == ["blob"]
    assert not writer.commit() and not writer.write(b"late")


def test_a_discarded_writer_leaves_the_old_file(tmp_path) -> None:
    target = tmp_path / "blob"
    target.write_bytes(b"old")
    with AtomicWriter(str(target)) as writer:
        writer.write(b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["blob"]
    assert not writer.commit()


def test_a_failed_write_refuses_the_commit(tmp_path) -> None:
    class FullDisk:
        def write(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    target = tmp_path / "blob"
    writer = AtomicWriter(str(target))
    writer._file.close()
    writer._file = FullDisk()  # type: ignore[assignment]
    assert not writer.write(b"x")
    assert not writer.write(b"y")
    assert not writer.commit()
    assert writer.error is not None and writer.error.errno == 28
    assert not target.exists() and os.listdir(tmp_path) == []


def test_a_writer_without_its_folder_raises(tmp_path) -> None:
    with pytest.raises(OSError):
        AtomicWriter(str(tmp_path / "missing" / "f"), make_folder=False)


def test_write_text_atomic_keeps_the_replaced_file_mode(tmp_path) -> None:
    target = tmp_path / "report.md"
    target.write_text("a much longer old report\n")
    os.chmod(target, 0o640)
    write_text_atomic(str(target), "new é\n")
    assert target.read_bytes() == "new é\n".encode()
    assert _mode(target) == 0o640
    assert os.listdir(tmp_path) == ["report.md"]


def test_write_text_atomic_gives_a_new_file_the_open_mode(tmp_path) -> None:
    old = os.umask(0o027)
    try:
        write_text_atomic(str(tmp_path / "new.json"), "{}\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.json") == 0o640


def test_write_text_atomic_to_stdout(capsys) -> None:
    write_text_atomic("-", "to the pipe\n")
    assert capsys.readouterr().out == "to the pipe\n"


def test_write_text_atomic_without_the_folder_is_a_divepy_error(tmp_path) -> None:
    with pytest.raises(DivepyError, match=r"cannot write \(No such file or directory\)"):
        write_text_atomic(str(tmp_path / "no" / "x.json"), "{}")
    assert os.listdir(tmp_path) == []


def test_write_text_atomic_cleans_up_when_the_rename_fails(tmp_path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(DivepyError, match="cannot write"):
        write_text_atomic(str(tmp_path / "dir"), "text")  # a folder cannot be replaced by a file
    assert os.listdir(tmp_path) == ["dir"]


def test_a_cache_write_replaces_a_planted_link_and_never_writes_through_one(tmp_path) -> None:
    from dive_py.files import LinkRefused

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"the user's")
    root = tmp_path / "cache"
    (root / "store").mkdir(parents=True)
    os.symlink(outside / "victim", root / "store" / "entry")
    assert write_atomically(str(root / "store" / "entry"), b"cached", root=str(root))
    assert not os.path.islink(root / "store" / "entry") and (root / "store" / "entry").read_bytes() == b"cached"
    os.symlink(outside, root / "linked")
    with pytest.raises(LinkRefused):
        AtomicWriter(str(root / "linked" / "entry"), root=str(root))
    assert not write_atomically(str(root / "linked" / "deeper" / "entry"), b"x", root=str(root))
    assert os.listdir(outside) == ["victim"] and (outside / "victim").read_bytes() == b"the user's"
    assert _mode(root / "store" / "entry") == 0o600
