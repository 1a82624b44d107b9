"""The CKAN portal as a local service: ``hub portal up | down | status | reset | rotate-logs |
rotate-secrets``.

Everything lives under the portal folder (``HUB_PORTAL_DIR``, default ``data/portal``): a private
PostgreSQL cluster (``pg/``), a private Redis, CKAN 2.12 in its own virtualenv (its pins clash
with Dagster's), ``ckan.ini``, uploaded files, logs, and ``portal.env`` (mode 0600: the database
and Redis passwords and the sysadmin's API token, never printed). Only Debian packages are
installed system-wide, when missing. The hub's CKAN extension (``publish/ckanext-territoire``)
serves search from PostgreSQL: Solr cannot be installed here.

Closed to the machine's other accounts: PostgreSQL's socket is in a 0700 folder and ``pg_hba``
knows no ``trust`` (the superuser by ``peer`` only, CKAN's roles by SCRAM password over
loopback); Redis wants a password; secrets reach programs by a 0600 file, stdin or the
environment, never on a command line; step logs are redacted; every file is created 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from territoire_hub.permissions import PRIVATE_DIR, PRIVATE_FILE, PRIVATE_UMASK
from territoire_hub.settings import Settings

EXTENSION = Path(__file__).resolve().parent / "ckanext-territoire"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEBIAN_PACKAGES = {"redis-server": "redis-server", "libpq-dev": "libpq-dev", "libmagic1": "libmagic1",
                   "postgresql-15": "postgresql-15"}
# the extensions beside CKAN: installed into an existing virtualenv too when one is missing
EXTENSIONS = {"ckanext.scheming": "ckanext-scheming==3.1.0", "ckanext.dcat": "ckanext-dcat==2.4.4",
              "ckanext.dataset_series": "ckanext-dataset-series==0.1.1"}
CKAN_REQUIREMENTS = ["ckan[requirements]==2.12.0", *EXTENSIONS.values(), "gunicorn==27.0.1"]
PLUGINS = "territoire datastore datatables_view image_view scheming_datasets dcat dataset_series"
# DCAT-AP 3 from the scheming fields, completed by the hub's profile (ckanext.territoire.dcat)
PROFILE = "territoire_dcat_ap"
RDF_PROFILES = f"euro_dcat_ap_3 euro_dcat_ap_scheming {PROFILE}"
SECRET_KEYS = ("CKAN_DB_PASSWORD", "DATASTORE_RO_PASSWORD", "REDIS_PASSWORD", "HUB_CKAN_TOKEN")
LOG_MAX_BYTES = 10 * 2**20      # a log past this size is rotated (at `up`, or by `hub portal rotate-logs`)
LOG_KEEP = 5                    # rotated logs kept: access.log.1 … access.log.5
WEB_LOGS = ("access.log", "error.log")   # the web server's, reopened on SIGUSR1 after a rotation
# a password in a URL, or after password=/token=/PASSWORD '…', in a command or an error quoted by a log
SECRET_PATTERNS = [(re.compile(r"(\w+://[^:/@\s]*:)[^@\s]+@"), r"\1***@"),
                   (re.compile(r"(?i)\b(password|passwd|requirepass|token)(\s*[=:]\s*|\s+')[^\s']+"), r"\1\2***")]
PG_HBA = """\
# territoire-hub: no `trust`. The superuser only from its own Unix account, through a socket folder
# only it can open; CKAN's two roles by SCRAM password over loopback; nothing else.
local all postgres peer
host all ckan,datastore_ro 127.0.0.1/32 scram-sha-256
"""


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
    workers: int = 4
    anonymous_query_timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in (self.db, self.datastore_db):
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
                raise PortalError(f"database name {name!r}: lower-case letters, digits and _ only")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Portal":
        return cls(settings.portal_dir, settings.portal_venv, settings.portal_port, settings.portal_pg_port,
                   settings.portal_redis_port, settings.portal_db, settings.portal_datastore_db,
                   settings.portal_workers, settings.portal_anonymous_query_timeout)

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

    @property
    def socket_dir(self) -> Path:
        """PostgreSQL's Unix socket, in a folder only the ``postgres`` account can open."""
        return self.root / "pg" / "socket"

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        path.chmod(PRIVATE_DIR)
        return path

    # -- secrets -------------------------------------------------------------------------------
    def secrets(self) -> dict[str, str]:
        """``portal.env``: HUB_CKAN_URL, HUB_CKAN_TOKEN, the database and Redis passwords."""
        if not self.env_file.exists():
            return {}
        pairs = (line.split("=", 1) for line in self.env_file.read_text().splitlines() if "=" in line)
        return {k.strip(): v.strip() for k, v in pairs}

    def _save_secrets(self, values: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        write_private(self.env_file, "".join(f"{k}={v}\n" for k, v in sorted(values.items())))

    def redact(self, text: str, *extra: str) -> str:
        """``text`` without the portal's secrets (nor ``extra``), nor anything shaped like a password."""
        for value in [*(self.secrets().get(k, "") for k in SECRET_KEYS), *extra]:
            if len(value) >= 8:
                text = text.replace(value, "***")
        for pattern, replacement in SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    # -- running commands --------------------------------------------------------------------
    def _run(self, args: list[str], step: str, *, user: str | None = None, input: str | None = None,
             env: dict | None = None, secret_output: bool = False) -> str:
        """Run a step; its command line and output go, redacted, to ``logs/<step>.log`` (0600).

        Secrets are never in ``args`` (any account sees command lines): they travel by ``input``
        (stdin), ``env`` or a 0600 file. ``secret_output``: the output is a secret (a token) and is
        not logged. The step has no controlling terminal (a new session): a prompt reads stdin."""
        if user:
            args = ["su", user, "-s", "/bin/sh", "-c", " ".join(shlex.quote(a) for a in args)]
        done = subprocess.run(args, input=input, capture_output=True, text=True, umask=PRIVATE_UMASK,
                              start_new_session=True, env={**os.environ, **(env or {})})
        output = "(output withheld: it holds a secret)\n" if secret_output else done.stdout + done.stderr
        log = self._dir("logs") / f"{step.split()[0]}.log"
        append_private(log, self.redact(f"$ {' '.join(args)}\n{output}\n", *(input or "").split()))
        if done.returncode != 0:
            raise PortalError(f"{step} failed (exit {done.returncode}); see {log}")
        return done.stdout

    def _ckan(self, *args: str, step: str, input: str | None = None, secret_output: bool = False) -> str:
        return self._run([str(self.venv / "bin" / "ckan"), "-c", str(self.ini), *args], step, input=input,
                         secret_output=secret_output)

    def _psql(self, database: str, sql: str, step: str) -> str:
        """SQL as the ``postgres`` superuser, by its own Unix account (``peer``) on the private socket."""
        return self._run([str(PG_BIN / "psql"), "-h", str(self.socket_dir), "-p", str(self.pg_port),
                          "-v", "ON_ERROR_STOP=1", "-q", "-d", database], step, input=sql, user="postgres")

    def _redis_cli(self, *args: str) -> subprocess.CompletedProcess:
        # REDISCLI_AUTH: the password by the environment, never on the command line
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, text=True,
                              env={**os.environ, "REDISCLI_AUTH": self.secrets().get("REDIS_PASSWORD", "")})

    # -- up ------------------------------------------------------------------------------------
    def up(self, echo=print) -> str:
        """Bring every part up (idempotent) and wait until ``status_show`` answers."""
        started = time.monotonic()
        self._dir(".")
        self.rotate_logs()
        leaked = self._redact_logs()
        if leaked:
            echo(f"  {len(leaked)} log(s) of an earlier portal held secrets ({', '.join(p.name for p in leaked)}): "
                 "redacted now; they may have been read, run `hub portal rotate-secrets`")
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
        pg = self._dir("pg")
        self.socket_dir.mkdir(exist_ok=True)
        for folder in (pg, self.socket_dir):
            shutil.chown(folder, "postgres", "postgres")
            folder.chmod(PRIVATE_DIR)
        traversable_by_postgres(self.root)
        data = pg / "data"
        if not (data / "PG_VERSION").exists():
            self._run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=peer",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"], "initdb", user="postgres")
        hba = data / "pg_hba.conf"
        changed = hba.read_text() != PG_HBA
        if changed:
            hba.write_text(PG_HBA)
            shutil.chown(hba, "postgres", "postgres")
        if self._pg_running() and not (self.socket_dir / f".s.PGSQL.{self.pg_port}").exists():
            # started by an earlier hub, its socket in a folder others could reach: restarted here
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "pg_ctl stop",
                      user="postgres")
        if not self._pg_running():
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(pg / "postgres.log"), "-w", "-o",
                       f"-p {self.pg_port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                       "-c unix_socket_permissions=0700", "start"], "pg_ctl start", user="postgres")
        elif changed:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(data), "reload"], "pg_ctl reload", user="postgres")
        values = self.secrets()
        values.setdefault("CKAN_DB_PASSWORD", secrets.token_urlsafe(18))
        values.setdefault("DATASTORE_RO_PASSWORD", secrets.token_urlsafe(18))
        self._save_secrets(values)
        # PostgreSQL receives SCRAM verifiers, never the passwords: its log quotes a failed statement
        roles = "\n".join([
            "SELECT 'CREATE ROLE ckan LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ckan')\\gexec",
            "SELECT 'CREATE ROLE datastore_ro LOGIN' "
            "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastore_ro')\\gexec",
            f"ALTER ROLE ckan PASSWORD '{scram_verifier(values['CKAN_DB_PASSWORD'])}';",
            f"ALTER ROLE datastore_ro PASSWORD '{scram_verifier(values['DATASTORE_RO_PASSWORD'])}';",
            *(f"SELECT 'CREATE DATABASE {db} OWNER ckan ENCODING ''UTF8''' "
              f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{db}')\\gexec"
              for db in (self.db, self.datastore_db))])
        self._psql("postgres", roles + "\n", "psql roles")

    def _pg_running(self) -> bool:
        data = self.root / "pg" / "data"
        return data.exists() and subprocess.run(
            ["su", "postgres", "-s", "/bin/sh", "-c", f"{PG_BIN / 'pg_ctl'} -D {data} status"],
            capture_output=True).returncode == 0

    def _redis(self) -> None:
        folder = self._dir("redis")
        values = self.secrets()
        values.setdefault("REDIS_PASSWORD", secrets.token_urlsafe(18))
        self._save_secrets(values)
        write_private(folder / "redis.conf",
                      f"bind 127.0.0.1\nport {self.redis_port}\nprotected-mode yes\ndaemonize yes\ndir {folder}\n"
                      f"pidfile {self._dir('run') / 'redis.pid'}\nlogfile {folder / 'redis.log'}\n"
                      f"requirepass {values['REDIS_PASSWORD']}\nsave \"\"\nappendonly no\n")
        open_redis = ["redis-cli", "-p", str(self.redis_port)]   # no password given
        if subprocess.run([*open_redis, "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            # answering without a password: started by an earlier hub, restarted with one
            subprocess.run([*open_redis, "shutdown", "nosave"], capture_output=True)
            _wait(lambda: subprocess.run([*open_redis, "ping"], capture_output=True).returncode != 0, 10,
                  "Redis did not stop")
        if not self._redis_running():
            self._run(["redis-server", str(folder / "redis.conf")], "redis-server")
            _wait(self._redis_running, 10, "Redis did not answer")

    def _redis_running(self) -> bool:
        return self._redis_cli("ping").stdout.strip() == "PONG"

    def _virtualenv(self) -> None:
        python = self.venv / "bin" / "python"
        # the extension's entry points too: an older install lacks the DCAT profile
        probe = (f"import ckan, ckanext.territoire, gunicorn, {', '.join(EXTENSIONS)}\n"
                 "from importlib.metadata import entry_points\n"
                 f"assert {PROFILE!r} in {{e.name for e in entry_points(group='ckan.rdf.profiles')}}")
        if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0:
            return
        pip = [str(python), "-m", "pip", "install", "-q"]
        if python.exists() and subprocess.run([str(python), "-c", "import ckan"], capture_output=True).returncode == 0:
            # CKAN is there: add what a newer hub needs (an extension, the hub's extension's entry points)
            self._run(pip + list(EXTENSIONS.values()) + ["-e", str(EXTENSION)], "pip install")
            return
        if not python.exists():
            self._run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(self.venv)], "venv")
        self._run(pip + ["--upgrade", "pip", "setuptools", "wheel"], "pip install")
        self._run(pip + CKAN_REQUIREMENTS, "pip install")
        self._run(pip + ["-e", str(EXTENSION)], "pip install")

    def _config(self) -> None:
        values = self.secrets()
        if not self.ini.exists():
            self._run([str(self.venv / "bin" / "ckan"), "generate", "config", str(self.ini)], "ckan generate")
        licences = EXTENSION / "ckanext" / "territoire" / "licences.json"
        pg = f"127.0.0.1:{self.pg_port}"
        set_options(self.ini, {   # written from here: `ckan config-tool` would show the passwords in its command line
            "sqlalchemy.url": f"postgresql://ckan:{values['CKAN_DB_PASSWORD']}@{pg}/{self.db}",
            "ckan.datastore.write_url": f"postgresql://ckan:{values['CKAN_DB_PASSWORD']}@{pg}/{self.datastore_db}",
            "ckan.datastore.read_url":
                f"postgresql://datastore_ro:{values['DATASTORE_RO_PASSWORD']}@{pg}/{self.datastore_db}",
            "ckan.redis.url": f"redis://:{values['REDIS_PASSWORD']}@127.0.0.1:{self.redis_port}/0",
            "ckan.datastore.sqlsearch.enabled": "true",
            # an anonymous DataStore query is cancelled after a few seconds (CKAN's own limit: 60 s)
            "ckanext.territoire.anonymous_query_timeout": f"{self.anonymous_query_timeout:g}",
            # only the structure's sysadmins create organisations and groups: nobody poses as a publisher
            "ckan.auth.user_create_organizations": "false",
            "ckan.auth.user_create_groups": "false",
            "ckan.auth.create_unowned_dataset": "false",
            "ckan.auth.create_dataset_if_not_in_organization": "false",
            # user accounts (names, sysadmin flags, e-mail hashes) are not public
            "ckan.auth.public_user_details": "false",
            "ckan.site_url": self.url, "ckan.site_id": "territoire",
            "ckan.site_title": "territoire-hub — indicateurs territoriaux",
            "ckan.locale_default": "fr",
            "ckan.storage_path": str(self._dir("storage")),
            "ckan.plugins": PLUGINS,
            "scheming.dataset_schemas": "ckanext.territoire:schemas/dataset.yaml "
                                        "ckanext.territoire:schemas/dataset_series.yaml",
            "scheming.presets": "ckanext.scheming:presets.json ckanext.dcat.schemas:presets.yaml "
                                "ckanext.dataset_series.schemas:presets.yaml",
            "ckanext.dcat.rdf.profiles": RDF_PROFILES,
            "licenses_group_url": f"file://{licences}",
            "ckanext.territoire.search_backend": "auto",
            # CKAN 2.12 requires the key; with search_backend = auto, Solr is used if it answers
            "solr_url": "http://127.0.0.1:8983/solr/ckan"})

    def _database(self) -> None:
        self._ckan("db", "init", step="ckan db init")
        permissions = self._ckan("datastore", "set-permissions", step="datastore set-permissions")
        self._psql(self.datastore_db, "SET client_min_messages = warning;\n" + permissions, "psql datastore")

    def _sysadmin(self) -> None:
        """The hub's sysadmin ``hub-admin`` and its API token, which the hub publishes with.

        Its password is random, given on stdin and kept nowhere: nobody logs in as ``hub-admin``
        (an operator who must sets one with ``ckan -c ckan.ini user setpass hub-admin``)."""
        values = self.secrets()
        if "HUB_CKAN_TOKEN" in values:
            return
        if not re.search(r"^name=hub-admin\b", self._ckan("user", "list", step="ckan user list"), re.M):
            password = secrets.token_urlsafe(18)
            self._ckan("user", "add", "hub-admin", "email=hub-admin@localhost", step="ckan user",
                       input=f"{password}\n{password}\n")
            self._ckan("sysadmin", "add", "hub-admin", step="ckan sysadmin")
        token = self._ckan("user", "token", "add", "hub-admin", "hub", step="ckan token",
                           secret_output=True).strip().splitlines()[-1].strip()
        values.update({"HUB_CKAN_URL": self.url, "HUB_CKAN_TOKEN": token})
        self._save_secrets(values)

    def _web(self) -> None:
        """Gunicorn in a session of its own (not ``--daemon``: gunicorn's daemonising sets umask 022);
        its output and CKAN's log records go to ``logs/error.log``, requests to ``logs/access.log``.
        A server started before ``ckan.ini`` or ``wsgi.py`` last changed is restarted: settings
        (the portal's hardening among them) apply to the running portal, not to the next one."""
        run, logs = self._dir("run"), self._dir("logs")
        wsgi = self.root / "wsgi.py"
        write_if_changed(wsgi,
                         "import logging\n"
                         "from ckan.cli import CKANConfigLoader\n"
                         "from ckan.config.middleware import make_app\n"
                         f"config = CKANConfigLoader({str(self.ini)!r}).get_config()\n"
                         "# the loader applies ckan.ini's logging sections, which disables every logger they do not\n"
                         "# name: gunicorn's access and error logs among them\n"
                         "for name in ('gunicorn.access', 'gunicorn.error'):\n"
                         "    logging.getLogger(name).disabled = False\n"
                         "application = make_app(config)\n")
        pid_file = run / "gunicorn.pid"
        if self.status() and pid_file.exists() and \
                max(self.ini.stat().st_mtime, wsgi.stat().st_mtime) > pid_file.stat().st_mtime:
            self._stop_web()
        if not self.status():
            for name in WEB_LOGS:
                append_private(logs / name, "")
            with open(logs / "error.log", "a") as errors:
                subprocess.Popen(
                    [str(self.venv / "bin" / "gunicorn"), "--chdir", str(self.root), "-w", str(self.workers),
                     "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "10",
                     "--pid", str(pid_file), "--control-socket", str(run / "gunicorn.ctl"),
                     "--error-logfile", str(logs / "error.log"), "--capture-output",
                     "--access-logfile", str(logs / "access.log"), "wsgi:application"],
                    stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, umask=PRIVATE_UMASK,
                    start_new_session=True)
        _wait(lambda: self.status() is not None, 120,
              f"the portal did not answer status_show at {self.url}; see {self.root / 'logs' / 'error.log'}")

    def _stop_web(self) -> bool:
        pid = self._gunicorn_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            _wait(lambda: not _alive(pid), 15, "gunicorn did not stop")
        (self.root / "run" / "gunicorn.pid").unlink(missing_ok=True)
        return pid is not None

    # -- logs and secrets --------------------------------------------------------------------------
    def rotate_logs(self, max_bytes: int = LOG_MAX_BYTES, keep: int = LOG_KEEP) -> list[Path]:
        """Rotate the logs of ``logs/`` larger than ``max_bytes`` (``x.log`` → ``x.log.1`` …, ``keep``
        kept); the web server reopens its own (SIGUSR1). Returns the rotated logs."""
        logs = self.root / "logs"
        rotated = [log for log in sorted(logs.glob("*.log")) if log.stat().st_size >= max_bytes] \
            if logs.is_dir() else []
        for log in rotated:
            for n in range(keep - 1, 0, -1):
                older = log.with_name(f"{log.name}.{n}")
                if older.exists():
                    os.replace(older, log.with_name(f"{log.name}.{n + 1}"))
            os.replace(log, log.with_name(f"{log.name}.1"))
            append_private(log, "")   # created here, 0600, before the server reopens it
        pid = self._gunicorn_pid()
        if pid and any(log.name in WEB_LOGS for log in rotated):
            os.kill(pid, signal.SIGUSR1)
        return rotated

    def _redact_logs(self) -> list[Path]:
        """Every log made private; the step logs (not the web server's, open for writing) redacted in
        place. Returns the logs that held a secret (written by an earlier version of the hub)."""
        logs = self.root / "logs"
        leaked = []
        for log in sorted(logs.iterdir()) if logs.is_dir() else []:
            if not log.is_file() or log.is_symlink():
                continue
            log.chmod(PRIVATE_FILE)
            if log.name.split(".log")[0] + ".log" in WEB_LOGS:
                continue
            text = log.read_text(errors="replace")
            clean = self.redact(text)
            if clean != text:
                write_private(log, clean)
                leaked.append(log)
        return leaked

    def rotate_secrets(self, echo=print) -> None:
        """New database and Redis passwords and a new API token, the older tokens of ``hub-admin``
        revoked; the services restart with them."""
        self.down(echo)
        self._save_secrets({k: v for k, v in self.secrets().items() if k not in SECRET_KEYS})
        self.up(echo)
        token = self.secrets()["HUB_CKAN_TOKEN"]
        old = [t["id"] for t in self._api("api_token_list", token, {"user_id": "hub-admin"}) if t["id"] != token_id(token)]
        for jti in old:
            self._api("api_token_revoke", token, {"jti": jti})
        echo(f"  new passwords and API token in {self.env_file}; {len(old)} older token(s) revoked")

    def _api(self, action: str, token: str, body: dict):
        request = urllib.request.Request(f"{self.url}/api/3/action/{action}", data=json.dumps(body).encode(),
                                         headers={"Authorization": token, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["result"]

    def _gunicorn_pid(self) -> int | None:
        try:
            pid = int((self.root / "run" / "gunicorn.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    # -- status, down, reset -------------------------------------------------------------------
    def status(self) -> dict | None:
        """``status_show`` of the running portal, or None."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/3/action/status_show", timeout=3) as response:
                return json.load(response)["result"]
        except (OSError, ValueError, KeyError):
            return None

    def down(self, echo=print) -> None:
        if self._stop_web():
            echo("  web server stopped")
        if self._redis_running():
            self._redis_cli("shutdown", "nosave")
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


def write_private(path: Path, text: str) -> None:
    """``path`` replaced by ``text``, mode 0600 from its creation on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, PRIVATE_FILE)


def append_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    with os.fdopen(fd, "a") as fh:
        fh.write(text)
    os.chmod(path, PRIVATE_FILE)


def set_options(ini: Path, options: dict[str, str]) -> None:
    """Set ``options`` in the ``[app:main]`` section of ``ini``: a line ``key = …`` is replaced, a
    missing key appended at the end of the section; the file is rewritten (0600) if that changed it."""
    lines = ini.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "[app:main]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    missing = dict(options)
    for i in range(start, end):
        key = lines[i].split("=", 1)[0].strip()
        if "=" in lines[i] and not lines[i].lstrip().startswith(("#", ";")) and key in missing:
            lines[i] = f"{key} = {missing.pop(key)}"
    lines[end:end] = [f"{key} = {value}" for key, value in missing.items()] + ([""] if missing else [])
    write_if_changed(ini, "\n".join(lines) + "\n")


def write_if_changed(path: Path, text: str) -> bool:
    """``path`` rewritten (0600) only when ``text`` differs: its time says when it last changed."""
    if path.exists() and path.read_text() == text:
        path.chmod(PRIVATE_FILE)
        return False
    write_private(path, text)
    return True


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """PostgreSQL's stored form of ``password`` (SCRAM-SHA-256, RFC 5802/7677, as libpq's
    ``PQencryptPasswordConn``): the server can check the password, not recover it."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    encode = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{encode(salt).decode()}${encode(stored_key).decode()}:{encode(server_key).decode()}"


def traversable_by_postgres(folder: Path) -> None:
    """PostgreSQL runs as ``postgres``: it must cross the folders above its data. Those the hub's
    account owns (created 0700) get the search bit for others: o+x crosses, neither lists nor reads."""
    for parent in [folder, *folder.parents]:
        info = parent.stat()
        if info.st_uid != os.getuid():
            break
        if not info.st_mode & 0o001:
            parent.chmod((info.st_mode & 0o7777) | 0o001)


def token_id(token: str) -> str | None:
    """The ``jti`` of a CKAN API token (a JWT): the id ``api_token_list`` shows."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    except (IndexError, ValueError, KeyError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: an ended process whose parent has not collected it yet (a zombie) does
    not. The web server is this process's child when this process started it: collect it."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait(ready, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    raise PortalError(message)
