"""File access for local paths and any Beam filesystem (gs://, s3://, ...).

Local paths use the OS directly; paths with a scheme go through Beam's FileSystems so
the same manifest and output folder work on Dataflow.
"""
from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import shutil
import stat
import tempfile
import uuid
from typing import Iterator, List

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def has_scheme(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _strip_file(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def join(base: str, *parts: str) -> str:
    if has_scheme(base):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(base, *parts)
    return os.path.join(_strip_file(base), *parts)


def exists(path: str) -> bool:
    if has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    return os.path.lexists(_strip_file(path))


def is_dir(path: str) -> bool:
    return not has_scheme(path) and os.path.isdir(_strip_file(path))


def match(pattern: str) -> List[str]:
    """Sorted paths matching a glob (``**`` recurses). A directory matches all files under it.

    Local paths are listed by :func:`telecom_etl.listing.list_path`: links, FIFOs and other
    special files under the root are left out (a source lists them as counted drops).
    """
    if has_scheme(pattern):
        from apache_beam.io.filesystems import FileSystems

        if not any(ch in pattern for ch in "*?["):
            pattern = pattern.rstrip("/") + "/**" if not FileSystems.exists(pattern) or pattern.endswith("/") else pattern
        results = FileSystems.match([pattern])[0].metadata_list
        return sorted(m.path for m in results)
    from telecom_etl.listing import list_path

    local = _strip_file(pattern)
    found = [p for p in list_path(local) if isinstance(p, str)]
    if not os.path.isabs(local):  # a glob's walk gives absolute paths: answer in the form asked
        found = [os.path.relpath(p) if os.path.isabs(p) else p for p in found]
    return sorted(found)


def listdir(folder: str) -> List[str]:
    """Full paths of the entries directly in ``folder`` (hidden ones included), sorted."""
    if has_scheme(folder):
        from apache_beam.io.filesystems import FileSystems

        found = FileSystems.match([join(folder, "*")])[0].metadata_list
        return sorted(m.path for m in found)
    folder = _strip_file(folder)
    return sorted(os.path.join(folder, n) for n in os.listdir(folder)) if os.path.isdir(folder) else []


def size(path: str) -> int:
    if has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    return os.path.getsize(_strip_file(path))


def read_bytes(path: str, max_bytes: int = DEFAULT_MAX_BYTES, regular_only: bool = False) -> bytes:
    """The file's bytes; raises ValueError when it is larger than ``max_bytes``.

    The size is checked before reading, so an oversized input costs no memory. A file that
    vanished or cannot be read raises :class:`StageFailure` with the reason, as one line.
    ``regular_only`` (local files): never follow a final symbolic link, never wait on a FIFO
    or device; such a file fails with its reason.
    """
    try:
        return _read_bytes(path, max_bytes, regular_only)
    except OSError as exc:
        from telecom_etl.outcome import StageFailure

        if exc.errno in (errno.ELOOP, errno.EMLINK) and regular_only:
            raise StageFailure(f"cannot read {path}: it was replaced by a symbolic link after listing") from None
        reason = exc.strerror or exc.__class__.__name__
        raise StageFailure(f"cannot read {path}: {reason} (removed or changed after listing?)"
                           if isinstance(exc, FileNotFoundError) else f"cannot read {path}: {reason}") from None


def _too_large(n: int, max_bytes: int) -> ValueError:
    from telecom_etl.outcome import TooLarge

    return TooLarge(f"file of {n / 1048576:.1f} MiB is over the {max_bytes / 1048576:.0f} MiB limit "
                      "(raise the source's max_file_mb to accept it)")


def _read_bytes(path: str, max_bytes: int, regular_only: bool = False) -> bytes:
    if has_scheme(path):
        known = size(path)
        if known > max_bytes:
            raise _too_large(known, max_bytes)
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path) as fh:
            data = fh.read(known + 1)
            if len(data) > known:
                data += fh.read(max_bytes + 1 - len(data))
    else:
        flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) if regular_only else 0)
        with os.fdopen(os.open(_strip_file(path), flags), "rb") as fh:
            st = os.fstat(fh.fileno())
            if regular_only and not stat.S_ISREG(st.st_mode):
                from telecom_etl.outcome import StageFailure

                raise StageFailure(f"cannot read {path}: not a regular file (device, FIFO or socket)")
            if st.st_size > max_bytes:
                raise _too_large(st.st_size, max_bytes)
            # ask for what the file holds (+1 to see growth), not max_bytes: a read of n bytes
            # reserves n bytes of address space first, 100 MiB for every small file
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:  # it grew while being read: read on up to the limit
                data += fh.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        from telecom_etl.outcome import TooLarge

        raise TooLarge(f"file grew over the {max_bytes / 1048576:.0f} MiB limit while being read")
    return data


@contextlib.contextmanager
def local_path(path: str) -> Iterator[str]:
    """A local filesystem path for ``path`` (a temporary copy for remote files)."""
    if not has_scheme(path):
        yield _strip_file(path)
        return
    from apache_beam.io.filesystems import FileSystems

    tmpdir = tempfile.mkdtemp(prefix="telecom-etl-")
    try:
        local = os.path.join(tmpdir, os.path.basename(path) or "input")
        with FileSystems.open(path) as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst)
        yield local
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write then rename, so a reader never sees a partial file (also on object stores)."""
    with atomic_writer(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_writer(path: str) -> Iterator:
    """A binary file to write ``path`` through, put in place only when the block ends without error
    (as :func:`write_bytes_atomic`, without holding the bytes in memory). Locally a temporary file
    beside ``path`` renamed over it; on an object store a local temporary file, uploaded in chunks
    to a temporary key and renamed."""
    if has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        with tempfile.TemporaryFile(prefix="telecom-etl-") as fh:
            yield fh
            fh.seek(0)
            tmp = path + f".tmp-{uuid.uuid4().hex}"
            with FileSystems.create(tmp) as out:
                shutil.copyfileobj(fh, out, 8 << 20)
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([tmp], [path])
        return
    path = _strip_file(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path) or ".")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def current_umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it, racing other threads)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def makedirs(path: str) -> None:
    if not has_scheme(path):
        os.makedirs(_strip_file(path), exist_ok=True)


def remove_matching(folder: str, pattern: str) -> None:
    """Delete files in ``folder`` whose names match ``pattern`` (stale shards of a previous run)."""
    if has_scheme(folder):
        from apache_beam.io.filesystems import FileSystems

        found = [m.path for m in FileSystems.match([join(folder, pattern)])[0].metadata_list]
        if found:
            FileSystems.delete(found)
        return
    folder = _strip_file(folder)
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if fnmatch.fnmatch(name, pattern):
            os.unlink(os.path.join(folder, name))


def remove(path: str) -> None:
    """Delete one file; nothing happens when it is not there."""
    if has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        if FileSystems.exists(path):
            FileSystems.delete([path])
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_strip_file(path))


def match_prefix(prefix: str) -> List[str]:
    """Every object under ``prefix/`` of an object store (sorted)."""
    from apache_beam.io.filesystems import FileSystems

    return sorted(m.path for m in FileSystems.match([prefix.rstrip("/") + "/**"])[0].metadata_list)


def tree_exists(path: str) -> bool:
    """A file or folder at ``path`` (on object stores: the key, or any key under it)."""
    if has_scheme(path):
        return exists(path) or bool(match_prefix(path))
    return os.path.lexists(_strip_file(path))


def remove_tree(path: str) -> None:
    """Delete a file or a whole folder; nothing happens when it is not there."""
    if has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        found = match_prefix(path) + ([path] if FileSystems.exists(path) else [])
        if found:
            FileSystems.delete(found)
        return
    path = _strip_file(path)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def move_tree(src: str, dst: str) -> None:
    """Move a file or folder to ``dst`` (one rename on a local disk; key by key on object stores)."""
    if has_scheme(src):
        from apache_beam.io.filesystems import FileSystems

        if FileSystems.exists(src):
            FileSystems.rename([src], [dst])
            return
        found = match_prefix(src)
        if found:
            FileSystems.rename(found, [dst.rstrip("/") + f[len(src.rstrip("/")):] for f in found])
        return
    dst = _strip_file(dst)
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    os.rename(_strip_file(src), dst)
