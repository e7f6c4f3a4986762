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
* compressed with a method the reader does not have (Deflate64, PPMd, ...: named);
* a bomb: more entries than ``max_members`` over the input and its nested archives
  (each costs memory, however small), a member expanding more than ``max_ratio`` times
  its compressed size, beyond the size limit (per member or in total), or nested deeper
  than ``max_depth``. Real specs stay far inside these: TS 38.212 has 3,008 members, the
  largest ratio in the shared specs is 46 (an XML part), deflate's ceiling is 1,032 and
  bzip2 or LZMA can reach millions.

Every method is decompressed here, in chunks of at most 1 MiB of output per step
(``zipfile`` decompresses a bzip2 or LZMA read whole, so a 3 KB member could take 6 GB
before any limit saw it), and each member's CRC is checked at its end.
"""
from __future__ import annotations

import bz2
import io
import lzma
import posixpath
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Iterator, List

from telecom_etl.outcome import StageFailure

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_members: int = 100_000  # entries of one input, nested archives included
    max_unpacked_bytes: int = 2048 * MiB  # everything read from one input, nested archives included
    max_member_bytes: int = 1024 * MiB
    max_depth: int = 2  # zip in zip in zip: depth 2
    max_ratio: float = 200.0  # output per compressed byte of a member (past the first MiB)


RATIO_SLACK = MiB  # a member may always expand to this much (tiny members have large ratios)
CHUNK = MiB  # most output one decompression step may make
_IN = 64 * 1024  # compressed bytes fed per step
METHODS = {0: "stored", 8: "Deflate", 12: "bzip2", 14: "LZMA"}
_OTHER_METHODS = {1: "Shrink", 2: "Reduce", 3: "Reduce", 4: "Reduce", 5: "Reduce", 6: "Implode", 9: "Deflate64",
                  10: "PKWARE Implode", 18: "IBM TERSE", 19: "IBM LZ77", 93: "Zstandard", 94: "MP3", 95: "XZ",
                  96: "JPEG", 97: "WavPack", 98: "PPMd", 99: "WinZip AES"}


def method_name(method: int) -> str:
    return METHODS.get(method) or _OTHER_METHODS.get(method) or f"unknown method {method}"


class _Budget:
    """Bytes and entries still allowed for one input (shared by nested archives of that input)."""

    def __init__(self, limit: int, members: int = Limits.max_members):
        self.left, self.members_left, self.members = limit, members, members

    def take(self, n: int, what: str) -> None:
        self.left -= n
        if self.left < 0:
            raise StageFailure(f"{what} expands beyond the size limit (zip bomb?)")

    def take_members(self, n: int, what: str) -> None:
        self.members_left -= n
        if self.members_left < 0:
            raise StageFailure(f"{what} brings the input over {self.members:,} archive entries (nested archives "
                               "included; zip bomb?)")


def _chunks(method: int, raw: memoryview, what: str) -> Iterator[bytes]:
    """The member's bytes, at most :data:`CHUNK` per step, for every method the reader has."""
    if method == 0:
        for i in range(0, len(raw), CHUNK):
            yield bytes(raw[i:i + CHUNK])
        return
    if method == 8:
        d = zlib.decompressobj(-15)
        pending, pos = b"", 0
        while not d.eof:
            if not pending:
                if pos >= len(raw):
                    yield d.flush()  # at most zlib's window: what the last step held back
                    return
                pending, pos = raw[pos:pos + _IN], pos + _IN
            out = d.decompress(pending, CHUNK)
            pending = d.unconsumed_tail
            if out:
                yield out
        return
    if method == 12:
        d = bz2.BZ2Decompressor()
    elif method == 14:  # zip's LZMA: 2-byte version, 2-byte properties size, properties, raw LZMA1
        if len(raw) < 4:
            raise StageFailure(f"corrupt or truncated {what}: LZMA header missing")
        psize = struct.unpack("<H", raw[2:4])[0]
        try:
            filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, bytes(raw[4:4 + psize]))]
            d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        except (lzma.LZMAError, ValueError) as exc:
            raise StageFailure(f"corrupt or truncated {what}: bad LZMA header ({exc})") from None
        raw = raw[4 + psize:]
    else:
        raise StageFailure(f"{what} is compressed with {method_name(method)}, which the reader does not support "
                           f"(supported: {', '.join(METHODS.values())})")
    pos = 0
    while not d.eof:
        if d.needs_input:
            if pos >= len(raw):
                return  # the CRC and size check at the end tells a truncated member
            piece, pos = raw[pos:pos + _IN], pos + _IN
        else:
            piece = b""
        out = d.decompress(piece, CHUNK)
        if out:
            yield out


class _MemberStream(io.RawIOBase):
    """A member's decompressed bytes, checked against its CRC and size once read to the end."""

    def __init__(self, info: zipfile.ZipInfo, raw: memoryview, what: str):
        self.info, self.what = info, what
        self.chunks = _chunks(info.compress_type, raw, what)
        self.buf, self.crc, self.size, self.ended = b"", 0, 0, False

    def readable(self) -> bool:
        return True

    def next_chunk(self) -> bytes:
        """The next piece of output (b"" at the end, once the CRC and size are checked)."""
        if self.ended:
            return b""
        try:
            chunk = next(self.chunks)
        except StopIteration:
            self.ended = True
            if self.crc != self.info.CRC or self.size != self.info.file_size:
                raise StageFailure(f"corrupt or truncated {self.what}: bad CRC or size") from None
            return b""
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise StageFailure(f"corrupt or truncated {self.what}: {exc}") from None
        self.crc = zlib.crc32(chunk, self.crc)
        self.size += len(chunk)
        if self.size > self.info.file_size:  # headers lie in bombs: never more than they declare
            raise StageFailure(f"corrupt or truncated {self.what}: more data than its header declares (zip bomb?)")
        return chunk

    def readinto(self, buffer) -> int:
        while not self.buf and not self.ended:
            self.buf = memoryview(self.next_chunk())
        n = min(len(buffer), len(self.buf))
        buffer[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


class _Capped(io.RawIOBase):
    """A member stream that fails once it has produced more than its limit."""

    def __init__(self, raw: _MemberStream, limit: int, budget: _Budget, what: str, ratio: float = float("inf"),
                 compressed: int = 0):
        self.raw, self.limit, self.budget, self.what, self.done = raw, limit, budget, what, 0
        self.ratio = ratio
        self.ratio_limit = ratio * max(compressed, 1) + RATIO_SLACK  # bytes it may make for its compressed size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._count(self.raw.readinto(buffer))

    def readall(self) -> bytes:
        """The rest of the member in its decompression chunks (no 8 KiB read loop)."""
        parts = [bytes(self.raw.buf)] if self.raw.buf else []
        self._count(len(self.raw.buf))
        self.raw.buf = b""
        while True:
            chunk = self.raw.next_chunk()
            if not chunk:
                return b"".join(parts)
            self._count(len(chunk))
            parts.append(chunk)

    def _count(self, n: int) -> int:
        self.done += n
        if self.done > self.limit:
            raise StageFailure(f"{self.what} expands beyond the size limit of {self.limit // MiB} MiB (zip bomb?)")
        if self.done > self.ratio_limit:
            raise StageFailure(f"{self.what} expands more than {_ratio(self.ratio)} times its compressed "
                               "size (zip bomb?)")
        self.budget.take(n, self.what)
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _ratio(x: float) -> str:
    return f"{x:,.0f}"


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
        self.budget = budget or _Budget(limits.max_unpacked_bytes, limits.max_members)
        self.data = memoryview(data)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
            raise StageFailure(f"corrupt or truncated {what}: {exc}") from None
        self.files = [i for i in infos if not i.is_dir()]
        if not self.files:
            raise StageFailure(f"empty {what}: no members")
        self.budget.take_members(len(infos), what)
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

    def _raw(self, info: zipfile.ZipInfo, label: str) -> memoryview:
        """The compressed bytes of a member, found through its local header."""
        off = info.header_offset
        head = bytes(self.data[off:off + 30])
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise StageFailure(f"corrupt or truncated {label}: bad local header")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        start = off + 30 + name_len + extra_len
        return self.data[start:start + info.compress_size]

    def open(self, name: str) -> IO[bytes]:
        """A buffered, size-capped stream of one member."""
        label = f"{self.what} member {posixpath.basename(name)!r}"
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise StageFailure(f"{self.what} has no member {name!r}") from None
        raw = self._raw(info, label)
        capped = _Capped(_MemberStream(info, raw, label), self.limits.max_member_bytes, self.budget, label,
                         self.limits.max_ratio, len(raw))
        if info.file_size > capped.ratio_limit:
            raise StageFailure(f"{label} declares {info.file_size:,} bytes from {len(raw):,} compressed, more than "
                               f"{_ratio(self.limits.max_ratio)} times (zip bomb?)")
        return io.BufferedReader(capped, 1 << 20)

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
