"""Word 97 ``.doc`` -> ``.docx`` through headless LibreOffice, sandboxed and time-limited.

Each call gets its own temporary folder holding the input (under a fixed safe name,
never the archive's member name), the output and a throw-away LibreOffice profile
(``-env:UserInstallation``), so parallel workers never share a profile lock and nothing
is left behind. The command runs without a shell, with ``HOME`` inside the folder, in
its own process group: on timeout the whole group is killed (LibreOffice forks
``soffice.bin``), and the input fails with one clear line.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from typing import Optional

from telecom_etl.outcome import StageFailure

DEFAULT_TIMEOUT_S = 180.0
ENV_SOFFICE = "TELECOM_ETL_SOFFICE"  # path of the soffice binary, when not on PATH


def find_soffice(configured: Optional[str] = None) -> Optional[str]:
    """The LibreOffice binary: the configured path, $TELECOM_ETL_SOFFICE, else soffice/libreoffice on PATH."""
    for candidate in (configured, os.environ.get(ENV_SOFFICE), "soffice", "libreoffice"):
        if not candidate:
            continue
        found = shutil.which(candidate)
        if found:
            return found
    return None


def doc_to_docx(data: bytes, timeout_s: float = DEFAULT_TIMEOUT_S, soffice: Optional[str] = None) -> bytes:
    """The ``.docx`` bytes of a Word 97 document; raises :class:`StageFailure` on any failure."""
    binary = find_soffice(soffice)
    if binary is None:
        raise StageFailure("legacy Word .doc needs LibreOffice, but 'soffice' was not found "
                           "(scripts/setup.sh installs libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory(prefix="telecom-etl-doc-") as tmp:
        src = os.path.join(tmp, "input.doc")
        out_dir = os.path.join(tmp, "out")
        profile = os.path.join(tmp, "profile")
        os.makedirs(out_dir)
        with open(src, "wb") as fh:
            fh.write(data)
        cmd = [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--invisible", "--nologo",
               "--norestore", "--nolockcheck", "--nodefault", "--convert-to", "docx:MS Word 2007 XML",
               "--outdir", out_dir, src]
        env = {"HOME": tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "TMPDIR": tmp, "SAL_USE_VCLPLUGIN": "svp"}
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=tmp, env=env, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise StageFailure(f"LibreOffice did not convert the .doc within {timeout_s:g} s (killed)") from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
        produced = os.path.join(out_dir, "input.docx")
        if proc.returncode != 0 or not os.path.exists(produced) or os.path.getsize(produced) == 0:
            detail = (err or b"").decode("utf-8", "replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit code {proc.returncode}, no output"
            raise StageFailure(f"LibreOffice could not convert the .doc: {reason[:200]}")
        with open(produced, "rb") as fh:
            return fh.read()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pass
