"""Reading and writing Python source files without changing anything but the text.

A file is decoded the way Python itself would decode it (BOM, then a PEP 263 coding cookie, else
UTF-8) and its newlines are kept exactly: bytes are decoded, never read through universal newlines,
so CRLF stays CRLF. Writing encodes back with the same codec (the BOM too) and replaces the file
atomically, and only if it has not changed on disk since it was read.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import io
import logging
import os
import re
import stat
import tempfile
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

TEMP_SUFFIX = ".awaitify-tmp"
_BARE_LF = re.compile(r"(?<!\r)\n")


class SourceError(Exception):
    """A file that cannot be read or written; the message is shown to the user as is."""


class StaleFileError(SourceError):
    """The file changed on disk between the read and the write."""


@dataclass(frozen=True)
class Fingerprint:
    """Enough of a file's state to notice that someone else changed it."""

    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        data, st = read_regular_file(path)
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class SourceFile:
    """One decoded file and what is needed to write it back exactly as it was encoded."""

    path: Path
    text: str
    encoding: str  # a codec name; "utf-8-sig" when the file starts with a UTF-8 BOM
    fingerprint: Fingerprint


# byte order marks of the encodings whose text holds NUL bytes, the longest first (UTF-32's starts like UTF-16's)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode source bytes as Python would; returns (text, codec). Newlines are left untouched."""
    if b"\0" in data:
        wide = next((name for bom, name in _WIDE_BOMS if data.startswith(bom)), None)
        if wide is not None:  # Python reads no source in these: say what the file is, and what to do
            raise SourceError(f"{wide} encoded (a byte order mark says so), not Python source: re-encode it as UTF-8")
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" not in exc.msg:  # bad cookie, or BOM vs cookie
            raise SourceError(f"cannot detect encoding: {exc.msg}") from exc
        encoding = "utf-8"  # one of the first two lines is not UTF-8: let decoding say where
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"not valid {encoding} (byte 0x{data[exc.start]:02x} on line {line}); "
            "add a coding cookie such as `# -*- coding: latin-1 -*-` or re-encode the file"
        ) from exc
    except LookupError as exc:  # pragma: no cover - detect_encoding already validates the codec
        raise SourceError(f"unknown encoding {encoding!r}") from exc
    return text, encoding


def encode_source(text: str, encoding: str) -> bytes:
    """Encode text back with the codec it was read with (a UTF-8 BOM is written again by utf-8-sig)."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise SourceError(
            f"the rewritten text has {exc.object[exc.start : exc.end]!r}, which {encoding} cannot encode"
        ) from exc


def restore_newlines(old_text: str, new_text: str) -> str:
    """Give lines added by a rewrite the file's own newline style: a CRLF file stays CRLF throughout.

    A file that already mixes styles is left as the rewrite returned it: no single style to restore.
    """
    crlf = old_text.count("\r\n")
    if crlf == 0 or crlf != old_text.count("\n"):
        return new_text
    return _BARE_LF.sub("\r\n", new_text)


def read_source(path: Path) -> SourceFile:
    """Read and decode one file, or raise SourceError with a message for the user."""
    try:
        data, st = read_regular_file(path)
    except FileNotFoundError as exc:
        raise SourceError("no such file (or a dangling symlink)") from exc
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    text, encoding = decode_source(data)
    fingerprint = Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())
    return SourceFile(path=path, text=text, encoding=encoding, fingerprint=fingerprint)


def read_regular_file(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file and its status; raises SourceError for anything else (a directory, a FIFO, a
    socket, a device), without opening it: opening a FIFO blocks until someone writes to it, and opening a device
    can have effects of its own.

    The file is opened non-blocking and checked again once open, in case it was replaced in between.
    """
    _require_regular(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        _require_regular(st.st_mode)
        return handle.read(), st


def _require_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise SourceError("is a directory, not a file")
    raise SourceError(f"{_special_kind(mode)}, not a regular file: not opened")


def _special_kind(mode: int) -> str:
    """What a file that is neither regular nor a directory is, for the user."""
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def write_source(source: SourceFile, new_text: str) -> None:
    """Write new_text over source.path atomically, keeping encoding, BOM, newlines and file mode.

    Refuses (StaleFileError) when the file on disk is no longer the one that was read.
    """
    stage_source(source, new_text).commit()


def stage_source(source: SourceFile, new_text: str) -> StagedWrite:
    """`write_source` up to the last step: the new bytes wait beside the file (see `StagedWrite`), once the file is
    known to be the one that was read and replaceable. Raises SourceError (StaleFileError) otherwise."""
    data = encode_source(restore_newlines(source.text, new_text), source.encoding)
    target = source.path.resolve()  # discovery never gives a symlink; a caller that reads one writes through it
    try:
        current = Fingerprint.of(target)
    except OSError as exc:
        raise SourceError(f"cannot re-read before writing: {exc.strerror or exc}") from exc
    if current != source.fingerprint:
        raise StaleFileError("changed on disk since it was read; not overwritten (run again)")
    _check_replaceable(target)
    return stage_bytes(target, data)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace path with data via a temp file in the same directory and os.replace.

    The new file gets the old one's mode and, where permitted, its owner and group.
    """
    stage_bytes(path, data).commit()


@dataclass(frozen=True)
class StagedWrite:
    """A file's new bytes, written and synced to a temporary file beside it (same mode and owner): `commit`
    replaces the file with it (one rename: the file is old or new, never in between), `discard` drops it."""

    target: Path
    temp: Path

    def commit(self, *, sync_directory: bool = True) -> None:
        """`sync_directory=False`: the caller makes the rename durable (`sync_directories`), once for all the files
        of a directory it commits."""
        try:
            os.replace(self.temp, self.target)
        except OSError as exc:
            self.discard()
            raise SourceError(f"cannot write: {exc.strerror or exc}") from exc
        if sync_directory:
            _fsync_directory(self.target.parent)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.temp.unlink()


def stage_bytes(path: Path, data: bytes) -> StagedWrite:
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from exc
    staged = StagedWrite(path, Path(temp_name))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if old is not None:
            os.chmod(staged.temp, stat.S_IMODE(old.st_mode))
            _copy_owner(staged.temp, old)
    except OSError as exc:
        staged.discard()
        raise SourceError(f"cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        staged.discard()
        raise
    return staged


def _check_replaceable(path: Path) -> None:
    """Raise SourceError for a file no rename can replace whatever its directory allows: immutable or append-only
    (Linux `chattr +i` / `+a`), where opening it for writing fails with EPERM, even for root. A file read-only by
    its mode (EACCES) is replaced all the same: the rename needs the directory's permission, not the file's."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))  # opened, not written: nothing changes
    except PermissionError as exc:
        if exc.errno == errno.EPERM:
            raise SourceError(f"cannot write: {exc.strerror or exc}") from exc
        return
    except OSError:
        return  # anything else is for the write itself to report
    os.close(fd)


def _copy_owner(path: Path, old: os.stat_result) -> None:
    if (old.st_uid, old.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.chown(path, old.st_uid, old.st_gid)
    except OSError:  # only root may give files away; keeping our own ownership is the fallback
        logger.debug("cannot keep owner of %s", path)


def sync_directories(writes: Iterable[StagedWrite]) -> None:
    """Make the renames of these committed writes durable: one fsync of each directory they renamed files in."""
    for directory in sorted({write.target.parent for write in writes}):
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform or file system allows it, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        logger.debug("fsync of directory %s not supported", directory)
    finally:
        os.close(fd)
