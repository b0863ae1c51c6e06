"""A throw-away PostgreSQL server for the tests: found or installed, run unprivileged, removed.

:func:`find_or_install_bindir` finds the server's programs (Debian keeps them off PATH, in
``/usr/lib/postgresql/<version>/bin``), installing Debian's ``postgresql`` with apt-get when
they are missing. :func:`throwaway_cluster` is a context manager: it makes a cluster in a
temporary folder owned by an unprivileged user (the server refuses to run as root), starts it
on a free port of 127.0.0.1 with trust authentication for local connections only, and yields a
:class:`Cluster`; whatever happens, it stops the server (``pg_ctl stop -m immediate``) and
removes the folder. Both raise :class:`Unavailable` with the reason when no server can run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "curvature-pg"  # created when the tests run as root


class Unavailable(RuntimeError):
    """No PostgreSQL server can be run here (the message says why)."""


def _has_server(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _candidates() -> list[Path]:
    found = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        proc = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            found.append(Path(proc.stdout.strip()))
    # Debian's versioned folders, newest first
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name
                                  .split(".")], reverse=True)
    found.extend(Path(p) for p in versioned)
    initdb = shutil.which("initdb")
    if initdb:
        found.append(Path(os.path.realpath(initdb)).parent)
    return found


def find_bindir() -> Path | None:
    """The folder with initdb, pg_ctl and postgres, or None."""
    return next((path for path in _candidates() if _has_server(path)), None)


def find_or_install_bindir() -> Path:
    """Find the server's programs; install Debian's ``postgresql`` (as root) when missing."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("PostgreSQL is not installed and cannot be installed here "
                          "(needs root and apt-get): apt-get install postgresql")
    from apt import apt_install

    proc = apt_install(["postgresql"], recommends=False, timeout=900,
                       done=lambda: find_bindir() is not None)
    if proc.returncode != 0:
        raise Unavailable(f"apt-get install postgresql failed:\n"
                          f"{(proc.stdout + proc.stderr)[-2000:]}")
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable("apt-get installed postgresql but no initdb/pg_ctl/postgres was found")
    return bindir


def _service_user() -> str | None:
    """The user to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        proc = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                               "/usr/sbin/nologin", SERVICE_USER], capture_output=True, text=True)
        if proc.returncode != 0:
            raise Unavailable(f"cannot create the user {SERVICE_USER} for the server: "
                              f"{proc.stderr.strip()}") from None
    return SERVICE_USER


def _as_user(user: str | None, cmd: list[str]) -> list[str]:
    if user is None:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *cmd]
    if shutil.which("setpriv"):
        entry = pwd.getpwnam(user)
        return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                "--clear-groups", *cmd]
    raise Unavailable("running as root without runuser or setpriv to drop privileges")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    bindir: Path
    user: str  # the database role (the cluster's superuser)
    port: int
    run_as: str | None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy URL."""
        proc = subprocess.run(
            _as_user(self.run_as, [str(self.bindir / "createdb"), "-h", "127.0.0.1",
                                   "-p", str(self.port), "-U", self.user, name]),
            capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"createdb {name} failed: {proc.stderr}")
        return self.url(name)


def _run(cmd, what: str, timeout: float = 120) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise Unavailable(f"{what} failed ({proc.returncode}):\n"
                          f"{(proc.stdout + proc.stderr)[-2000:]}")


@contextlib.contextmanager
def throwaway_cluster():
    """Start a private PostgreSQL server; stop it and delete its files afterwards."""
    bindir = find_or_install_bindir()
    run_as = _service_user()
    role = run_as or pwd.getpwuid(os.geteuid()).pw_name
    base = Path(tempfile.mkdtemp(prefix="curvature-pg-"))
    data = base / "data"
    started = False
    try:
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        os.chmod(base, 0o700)
        _run(_as_user(run_as, [str(bindir / "initdb"), "-D", str(data), "-U", role,
                               "--auth=trust", "--encoding=UTF8", "--no-sync"]), "initdb")
        port = free_port()
        # listen on loopback only; the socket folder is private to this cluster
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} "
                   f"-c unix_socket_directories={base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        started = True  # from here on a half-started server must be stopped too
        _run(_as_user(run_as, [str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                               "-l", str(base / "server.log"), "-w", "-t", "60", "start"]),
             "pg_ctl start")
        cluster = Cluster(bindir, role, port, run_as)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p",
                                    str(port)], capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        yield cluster
    finally:
        if started:
            subprocess.run(_as_user(run_as, [str(bindir / "pg_ctl"), "-D", str(data), "stop",
                                             "-m", "immediate", "-w", "-t", "30"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
