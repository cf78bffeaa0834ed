"""A throwaway PostgreSQL server for the journal tests (Debian's postgresql package).

`pg_server` (session fixture, in conftest.py) makes a cluster with initdb in a
temporary folder, starts it with pg_ctl on a Unix socket in that folder and a
free port, and stops it at the end of the session.  As root, initdb and pg_ctl
run as the ``postgres`` user (they refuse root) through ``runuser``.  When the
server binaries are missing the tests using it FAIL with how to install them:
a journal suite that silently skipped PostgreSQL would prove nothing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

INSTALL_HINT = (
    "the PostgreSQL server binaries (initdb, pg_ctl) were not found under "
    "/usr/lib/postgresql/*/bin: install them with `apt-get install -y postgresql` "
    "(Debian/Ubuntu), or set FORECAST_PG_BIN to the folder holding initdb and pg_ctl"
)


def find_bin() -> Path | None:
    env = os.environ.get("FORECAST_PG_BIN", "").strip()
    candidates = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One running cluster: `url(schema)` gives a journal URL in a fresh schema."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="forecast-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root but there is no 'postgres' user to run the server as; "
                    + INSTALL_HINT
                ) from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)

    def _run(self, *cmd: str) -> None:
        proc = subprocess.run(
            [*self.as_user, *cmd], capture_output=True, text=True, timeout=120, cwd="/"
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{Path(cmd[0]).name} failed: {proc.stderr.strip() or proc.stdout.strip()}"
            )

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = (
            f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off "
            "-c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def base_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={quote(str(self.root))}&port={self.port}"

    def url(self) -> str:
        """A journal URL whose search_path is a new, empty schema of its own."""
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.base_url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return self.base_url() + "&options=" + quote(f"-csearch_path={schema}")
