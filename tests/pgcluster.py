"""A throwaway PostgreSQL + PostGIS cluster for tests and benchmarks: initdb in a temp folder, a free loopback
port, started with pg_ctl (as the unprivileged ``postgres`` user when run as root), stopped and deleted after.

Roles: ``gis`` (superuser, trust on loopback) and ``planner`` (password ``planner-secret``, scram-sha-256), so
that the libpq password sources can be tested.  ``./dev test`` installs the Debian packages when missing.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PLANNER_PASSWORD = "planner-secret"


def _bindir() -> Path:
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]),
                         reverse=True):
        version = initdb.split("/")[4]
        if glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
            return Path(initdb).parent
    raise RuntimeError("PostgreSQL with PostGIS is not installed (Debian: postgresql postgresql-postgis; "
                       "./dev setup installs them)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``with Cluster() as c: c.url`` — a running server with database ``gis`` and the postgis extension."""

    def __init__(self):
        self.bindir = _bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="gis-screening-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.url = f"postgresql://gis@127.0.0.1:{self.port}/gis"

    def _run(self, *args: str) -> None:
        kw = {}
        if self.user:
            kw = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid}
        subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True, cwd=self.folder,
                       **kw)

    def start(self) -> Cluster:
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.folder, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "gis", "-E", "UTF8", "--locale=C.UTF-8", "--auth=trust")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all planner 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n")
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.data / "pg_hba.conf", pw.pw_uid, pw.pw_gid)
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-l", str(self.folder / "server.log"), "start")
        import psycopg
        with psycopg.connect(f"postgresql://gis@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE gis")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute(f"CREATE ROLE planner LOGIN PASSWORD '{PLANNER_PASSWORD}'")
            conn.execute("GRANT ALL ON SCHEMA public TO planner")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
