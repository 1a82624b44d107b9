"""The CKAN portal as a local service: ``hub portal up | down | status | reset``.

Everything lives under the portal folder (``HUB_PORTAL_DIR``, default ``data/portal``): a private
PostgreSQL cluster (``pg/``), a private Redis, CKAN 2.12 in its own virtualenv (its pins clash
with Dagster's), ``ckan.ini``, uploaded files, logs, and ``portal.env`` (mode 0600: the database
passwords and the sysadmin's API token, never printed). Only Debian packages are installed
system-wide, when missing. The hub's CKAN extension (``publish/ckanext-territoire``) serves
search from PostgreSQL: Solr cannot be installed here.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from territoire_hub.settings import Settings

EXTENSION = Path(__file__).resolve().parent / "ckanext-territoire"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEBIAN_PACKAGES = {"redis-server": "redis-server", "libpq-dev": "libpq-dev", "libmagic1": "libmagic1",
                   "postgresql-15": "postgresql-15"}
CKAN_REQUIREMENTS = ["ckan[requirements]==2.12.0", "ckanext-scheming==3.1.0", "ckanext-dcat==2.4.4",
                     "gunicorn==27.0.1"]
PLUGINS = "territoire datastore datatables_view scheming_datasets dcat"


class PortalError(RuntimeError):
    """A step of the portal's life failed; the message says which and where the log is."""


@dataclass(frozen=True)
class Portal:
    root: Path
    venv: Path
    port: int
    pg_port: int
    redis_port: int
    db: str = "ckan_default"
    datastore_db: str = "datastore_default"

    def __post_init__(self) -> None:
        for name in (self.db, self.datastore_db):
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
                raise PortalError(f"database name {name!r}: lower-case letters, digits and _ only")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Portal":
        return cls(settings.portal_dir, settings.portal_venv, settings.portal_port, settings.portal_pg_port,
                   settings.portal_redis_port, settings.portal_db, settings.portal_datastore_db)

    # -- places ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ini(self) -> Path:
        return self.root / "ckan.ini"

    @property
    def env_file(self) -> Path:
        return self.root / "portal.env"

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def secrets(self) -> dict[str, str]:
        """``portal.env``: HUB_CKAN_URL, HUB_CKAN_TOKEN and the database passwords."""
        if not self.env_file.exists():
            return {}
        pairs = (line.split("=", 1) for line in self.env_file.read_text().splitlines() if "=" in line)
        return {k.strip(): v.strip() for k, v in pairs}

    def _save_secrets(self, values: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
        os.chmod(self.env_file, 0o600)

    # -- running commands --------------------------------------------------------------------
    def _run(self, args: list[str], step: str, *, user: str | None = None, input: str | None = None,
             env: dict | None = None) -> str:
        if user:
            args = ["su", user, "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in args)]
        log = self._dir("logs") / f"{step.split()[0]}.log"
        done = subprocess.run(args, input=input, capture_output=True, text=True, env={**os.environ, **(env or {})})
        with open(log, "a") as fh:
            fh.write(f"$ {' '.join(args)}\n{done.stdout}{done.stderr}\n")
        if done.returncode != 0:
            raise PortalError(f"{step} failed (exit {done.returncode}); see {log}")
        return done.stdout

    def _ckan(self, *args: str, step: str, input: str | None = None) -> str:
        return self._run([str(self.venv / "bin" / "ckan"), "-c", str(self.ini), *args], step, input=input)

    def _psql(self, database: str, sql: str, step: str) -> str:
        return self._run([str(PG_BIN / "psql"), "-h", str(self._dir("run")), "-p", str(self.pg_port), "-U", "postgres",
                          "-v", "ON_ERROR_STOP=1", "-q", "-d", database], step, input=sql)

    # -- up ------------------------------------------------------------------------------------
    def up(self, echo=print) -> str:
        """Bring every part up (idempotent) and wait until ``status_show`` answers."""
        started = time.monotonic()
        for name, step in [("Debian packages", self._packages), ("PostgreSQL", self._postgres),
                           ("Redis", self._redis), ("CKAN virtualenv", self._virtualenv),
                           ("ckan.ini", self._config), ("database", self._database),
                           ("sysadmin and API token", self._sysadmin), ("web server", self._web)]:
            t = time.monotonic()
            step()
            echo(f"  {name:<24} {time.monotonic() - t:6.1f} s")
        echo(f"Portal up at {self.url} in {time.monotonic() - started:.0f} s "
             f"(API token in {self.env_file}, mode 0600)")
        return self.url

    def _packages(self) -> None:
        missing = [pkg for pkg in DEBIAN_PACKAGES
                   if subprocess.run(["dpkg", "-s", pkg], capture_output=True).returncode != 0]
        if missing:
            self._run(["apt-get", "update", "-q"], "apt-get update")
            self._run(["apt-get", "install", "-y", "-q", *missing], "apt-get install",
                      env={"DEBIAN_FRONTEND": "noninteractive"})

    def _postgres(self) -> None:
        pg, run = self._dir("pg"), self._dir("run")
        shutil.chown(pg, "postgres", "postgres")
        shutil.chown(run, "postgres", "postgres")
        data = pg / "data"
        if not (data / "PG_VERSION").exists():
            self._run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                       "--locale=C.UTF-8"], "initdb", user="postgres")
            # local socket: trust (only root and postgres reach the folder); TCP: passwords
            (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
            shutil.chown(data / "pg_hba.conf", "postgres", "postgres")
        if not self._pg_running():
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(pg / "postgres.log"), "-w", "-o",
                       f"-p {self.pg_port} -k {run} -c listen_addresses=127.0.0.1", "start"], "pg_ctl start",
                      user="postgres")
        values = self.secrets()
        values.setdefault("CKAN_DB_PASSWORD", secrets.token_urlsafe(18))
        values.setdefault("DATASTORE_RO_PASSWORD", secrets.token_urlsafe(18))
        self._save_secrets(values)
        self._psql("postgres", f"""
            SELECT 'CREATE ROLE ckan LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ckan')\\gexec
            SELECT 'CREATE ROLE datastore_ro LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastore_ro')\\gexec
            ALTER ROLE ckan PASSWORD '{values["CKAN_DB_PASSWORD"]}';
            ALTER ROLE datastore_ro PASSWORD '{values["DATASTORE_RO_PASSWORD"]}';
            SELECT 'CREATE DATABASE {self.db} OWNER ckan ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{self.db}')\\gexec
            SELECT 'CREATE DATABASE {self.datastore_db} OWNER ckan ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{self.datastore_db}')\\gexec
            """, "psql roles")

    def _pg_running(self) -> bool:
        data = self.root / "pg" / "data"
        return data.exists() and subprocess.run(
            ["su", "postgres", "-s", "/bin/sh", "-c", f"{PG_BIN / 'pg_ctl'} -D {data} status"],
            capture_output=True).returncode == 0

    def _redis(self) -> None:
        folder = self._dir("redis")
        conf = folder / "redis.conf"
        conf.write_text(f"bind 127.0.0.1\nport {self.redis_port}\ndaemonize yes\ndir {folder}\n"
                        f"pidfile {self._dir('run') / 'redis.pid'}\nlogfile {folder / 'redis.log'}\n"
                        "save \"\"\nappendonly no\n")
        if not self._redis_running():
            self._run(["redis-server", str(conf)], "redis-server")
            _wait(self._redis_running, 10, "Redis did not answer")

    def _redis_running(self) -> bool:
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG"

    def _virtualenv(self) -> None:
        python = self.venv / "bin" / "python"
        probe = "import ckan, ckanext.territoire, ckanext.scheming, ckanext.dcat, gunicorn"
        if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0:
            return
        if not python.exists():
            self._run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(self.venv)], "venv")
        pip = [str(python), "-m", "pip", "install", "-q"]
        self._run(pip + ["--upgrade", "pip", "setuptools", "wheel"], "pip install")
        self._run(pip + CKAN_REQUIREMENTS, "pip install")
        self._run(pip + ["-e", str(EXTENSION)], "pip install")

    def _config(self) -> None:
        values = self.secrets()
        if not self.ini.exists():
            self._run([str(self.venv / "bin" / "ckan"), "generate", "config", str(self.ini)], "ckan generate")
        licences = EXTENSION / "ckanext" / "territoire" / "licences.json"
        self._run([str(self.venv / "bin" / "ckan"), "config-tool", str(self.ini),
                   f"sqlalchemy.url = postgresql://ckan:{values['CKAN_DB_PASSWORD']}@127.0.0.1:{self.pg_port}/{self.db}",
                   f"ckan.datastore.write_url = postgresql://ckan:{values['CKAN_DB_PASSWORD']}@127.0.0.1:{self.pg_port}/{self.datastore_db}",
                   f"ckan.datastore.read_url = postgresql://datastore_ro:{values['DATASTORE_RO_PASSWORD']}@127.0.0.1:{self.pg_port}/{self.datastore_db}",
                   "ckan.datastore.sqlsearch.enabled = true",
                   f"ckan.site_url = {self.url}", "ckan.site_id = territoire",
                   "ckan.site_title = territoire-hub — indicateurs territoriaux",
                   "ckan.locale_default = fr",
                   f"ckan.redis.url = redis://127.0.0.1:{self.redis_port}/0",
                   f"ckan.storage_path = {self._dir('storage')}",
                   f"ckan.plugins = {PLUGINS}",
                   "scheming.dataset_schemas = ckanext.territoire:schemas/dataset.yaml",
                   f"licenses_group_url = file://{licences}",
                   "ckanext.territoire.search_backend = auto",
                   # CKAN 2.12 requires the key; with search_backend = auto, Solr is used if it answers
                   "solr_url = http://127.0.0.1:8983/solr/ckan"], "ckan config-tool")
        os.chmod(self.ini, 0o600)   # it holds the database passwords

    def _database(self) -> None:
        self._ckan("db", "init", step="ckan db init")
        permissions = self._ckan("datastore", "set-permissions", step="datastore set-permissions")
        self._psql(self.datastore_db, "SET client_min_messages = warning;\n" + permissions, "psql datastore")

    def _sysadmin(self) -> None:
        values = self.secrets()
        if "HUB_CKAN_TOKEN" in values:
            return
        password = secrets.token_urlsafe(18)
        self._ckan("user", "add", "hub-admin", "email=hub-admin@localhost", f"password={password}", step="ckan user")
        self._ckan("sysadmin", "add", "hub-admin", step="ckan sysadmin")
        token = self._ckan("user", "token", "add", "hub-admin", "hub", step="ckan token").strip().splitlines()[-1].strip()
        values.update({"HUB_CKAN_URL": self.url, "HUB_CKAN_TOKEN": token})
        self._save_secrets(values)

    def _web(self) -> None:
        if not self.status():
            run, logs = self._dir("run"), self._dir("logs")
            wsgi = self.root / "wsgi.py"
            wsgi.write_text(
                "from logging.config import fileConfig\n"
                "from ckan.cli import CKANConfigLoader\n"
                "from ckan.config.middleware import make_app\n"
                f"fileConfig({str(self.ini)!r})\n"
                f"application = make_app(CKANConfigLoader({str(self.ini)!r}).get_config())\n")
            self._run([str(self.venv / "bin" / "gunicorn"), "--chdir", str(self.root), "-w", "2", "-b",
                       f"127.0.0.1:{self.port}", "--timeout", "120", "--daemon", "--pid", str(run / "gunicorn.pid"),
                       "--control-socket", str(run / "gunicorn.ctl"), "--error-logfile", str(logs / "gunicorn.log"),
                       "--access-logfile", str(logs / "access.log"), "wsgi:application"], "gunicorn")
        _wait(lambda: self.status() is not None, 120,
              f"the portal did not answer status_show at {self.url}; see {self.root / 'logs' / 'gunicorn.log'}")

    # -- status, down, reset -------------------------------------------------------------------
    def status(self) -> dict | None:
        """``status_show`` of the running portal, or None."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/3/action/status_show", timeout=3) as response:
                return json.load(response)["result"]
        except (OSError, ValueError, KeyError):
            return None

    def down(self, echo=print) -> None:
        pid_file = self.root / "run" / "gunicorn.pid"
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().strip())
                os.kill(pid, 15)
                _wait(lambda: not _alive(pid), 15, "gunicorn did not stop")
            except (ValueError, ProcessLookupError):
                pass
            pid_file.unlink(missing_ok=True)
            echo("  web server stopped")
        if self._redis_running():
            subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"], capture_output=True)
            echo("  Redis stopped")
        if self._pg_running():
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "pg" / "data"), "-m", "fast", "-w", "stop"],
                      "pg_ctl stop", user="postgres")
            echo("  PostgreSQL stopped")

    def reset(self, echo=print) -> str:
        """Down, delete the portal's data (database, uploads, config, token; the virtualenv stays), up."""
        self.down(echo)
        for name in ("pg", "redis", "storage", "run", "ckan.ini", "portal.env", "wsgi.py"):
            path = self.root / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        return self.up(echo)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _wait(ready, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    raise PortalError(message)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
