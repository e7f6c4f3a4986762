"""Reading zip archives (3GPP ``.zip`` releases and ``.docx`` packages) with limits.

Nothing is extracted to disk: members are read into memory or streamed, through a
reader that stops at the size limit whatever the archive's headers claim (a zip bomb
lies about its sizes). An archive that breaks a rule fails as a whole with one clear
line (:class:`StageFailure`):

* corrupt or truncated (bad central directory, bad CRC, truncated data);
* empty (no file members);
* password-protected (any encrypted member);
* a member that would escape the target folder (absolute path, ``..``, drive letter,
  symlink);
* too many members, or expanding beyond the size limit (per member or in total).
"""
from __future__ import annotations

import io
import posixpath
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, List

from telecom_etl.outcome import StageFailure

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_members: int = 2000
    max_unpacked_bytes: int = 2048 * MiB  # everything read from one input, nested archives included
    max_member_bytes: int = 1024 * MiB
    max_depth: int = 2  # zip in zip in zip: depth 2


class _Budget:
    """Bytes still allowed for one input (shared by nested archives of that input)."""

    def __init__(self, limit: int):
        self.left = limit

    def take(self, n: int, what: str) -> None:
        self.left -= n
        if self.left < 0:
            raise StageFailure(f"{what} expands beyond the size limit (zip bomb?)")


class _Capped(io.RawIOBase):
    """A member stream that fails once it has produced more than its limit."""

    def __init__(self, raw: IO[bytes], limit: int, budget: _Budget, what: str):
        self.raw, self.limit, self.budget, self.what, self.done = raw, limit, budget, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.raw.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise StageFailure(f"corrupt or truncated {self.what}: {exc}") from None
        n = len(data)
        self.done += n
        if self.done > self.limit:
            raise StageFailure(f"{self.what} expands beyond the size limit of {self.limit // MiB} MiB (zip bomb?)")
        self.budget.take(n, self.what)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def unsafe_name(info: zipfile.ZipInfo) -> bool:
    name = info.filename
    if "\x00" in name:
        return True
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return True
    if ".." in norm.split("/"):
        return True
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


class SafeZip:
    """A validated zip archive; ``what`` names it in messages (``archive``, ``.docx``)."""

    def __init__(self, data: bytes, limits: Limits = Limits(), what: str = "archive", budget: _Budget = None):
        self.limits, self.what = limits, what
        self.budget = budget or _Budget(limits.max_unpacked_bytes)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
            raise StageFailure(f"corrupt or truncated {what}: {exc}") from None
        self.files = [i for i in infos if not i.is_dir()]
        if not self.files:
            raise StageFailure(f"empty {what}: no members")
        if len(infos) > limits.max_members:
            raise StageFailure(f"{what} has {len(infos)} members, more than the limit of {limits.max_members}")
        for info in infos:
            if unsafe_name(info):
                raise StageFailure(f"{what} member escapes the target folder: {info.filename!r}")
            if info.flag_bits & 0x1:
                raise StageFailure(f"password-protected {what} (encrypted member {info.filename!r})")
        declared = sum(i.file_size for i in self.files)
        if declared > limits.max_unpacked_bytes:
            raise StageFailure(f"{what} expands to {declared // MiB} MiB, beyond the limit of "
                               f"{limits.max_unpacked_bytes // MiB} MiB")

    @property
    def names(self) -> List[str]:
        return [i.filename for i in self.files]

    def has(self, name: str) -> bool:
        try:
            self.zf.getinfo(name)
            return True
        except KeyError:
            return False

    def open(self, name: str) -> IO[bytes]:
        """A buffered, size-capped stream of one member."""
        try:
            raw = self.zf.open(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
            raise StageFailure(f"corrupt or truncated {self.what}: {exc}") from None
        label = f"{self.what} member {posixpath.basename(name)!r}"
        return io.BufferedReader(_Capped(raw, self.limits.max_member_bytes, self.budget, label), 1 << 20)

    def read(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def head(self, name: str, n: int = 8) -> bytes:
        with self.open(name) as fh:
            return fh.read(n)

    def nested(self, name: str, depth: int) -> "SafeZip":
        """A zip member opened as an archive, sharing this input's size budget."""
        if depth > self.limits.max_depth:
            raise StageFailure(f"archives nested deeper than {self.limits.max_depth} levels: {name!r}")
        return SafeZip(self.read(name), self.limits, f"nested archive {posixpath.basename(name)!r}", self.budget)
