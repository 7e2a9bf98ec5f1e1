"""The default deployment as processes, for the push benchmark and the kill -9 drill: exactly what the README's
"Production deployment" tells an operator to run, `gunicorn -c gunicorn.conf.py wsgi:app` and one
`python worker.py`, configured by the environment alone (no CALLBACK_* setting: the acknowledgement mode,
the spool and whatever drains it are the defaults of the code that runs).

`Deployment` starts them, says when they are ready (every gunicorn worker has logged "Worker ready", the RQ
worker of this `worker.py` has registered in Redis), kills one process with SIGKILL and brings the deployment
back as a supervisor would (gunicorn's master replaces a worker itself; a killed master or `worker.py` is
started again, as systemd's `Restart=always` does), and records the peak resident memory (VmHWM) of every
gunicorn worker and of `worker.py` and its children while it runs. Each process is started in a session
of its own, so whatever outlives a kill (a killed master's workers, a killed `worker.py`'s children) is
found by its process group and ended at `stop`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import ROOT, free_port
from bench.load import CONFIG, Gunicorn, children, cmdline, descendants, peak_rss_mb

READY_RE = re.compile(r"Worker ready \(pid: (\d+)\)")
# what the production environment of a bench or a drill must not inherit from the shell that runs it
NOT_INHERITED = ("WECHAT_", "CALLBACK_", "GUNICORN_", "WEB_CONCURRENCY", "DATABASE_URL", "REDIS_URL", "PORTAL_",
                 "LOG_", "FORWARDED_ALLOW_IPS", "TRUSTED_PROXY_HOPS", "SECRET_KEY", "DATA_KEY", "FLASK_")


def production_env(settings: dict) -> dict:
    """The shell's environment without the portal's and gunicorn's settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
    env.update({k: str(v) for k, v in settings.items() if v is not None}, PYTHONDONTWRITEBYTECODE="1")
    return env


def configured_workers(env: dict) -> int:
    """How many workers gunicorn.conf.py asks for in `env` (its rule: GUNICORN_WORKERS, WEB_CONCURRENCY, else
    2 per core and at least 2)."""
    value = (env.get("GUNICORN_WORKERS") or "").strip() or (env.get("WEB_CONCURRENCY") or "").strip()
    return int(value) if value else max(2, 2 * (os.cpu_count() or 1))


def _wait(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} after {timeout:.0f} s")
        time.sleep(interval)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Deployment:
    """gunicorn (with gunicorn.conf.py) serving `target` plus one `worker.py`, on the environment `env`."""

    def __init__(self, env: dict, workdir: Path, target: str = "wsgi:app", ready_timeout: float = 120.0):
        self.env, self.workdir, self.target, self.ready_timeout = env, Path(workdir), target, ready_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web: Gunicorn | None = None
        self.worker: subprocess.Popen | None = None
        self.groups: list[int] = []
        self.peaks: dict[int, tuple[str, float]] = {}  # pid -> (role, peak MB)
        self._sampling = threading.Event()
        self._sampler = None
        self._log_offset = 0

    # --- starting and readiness ---------------------------------------------------------------------
    def start(self) -> Deployment:
        self._sampling.clear()
        self._sampler = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._sampler.start()
        self.start_web()
        self.start_worker()
        return self

    def start_web(self) -> None:
        log_path = self.workdir / "gunicorn.log"
        self._log_offset = log_path.stat().st_size if log_path.exists() else 0
        self.web = Gunicorn(self.target, self.env, log_path, config=CONFIG, port=self.port)
        self.groups.append(self.web.proc.pid)
        self.wait_web_ready()

    def _ready_pids(self) -> set[int]:
        with open(self.web.log_path, "rb") as fh:
            fh.seek(self._log_offset)
            return {int(pid) for pid in READY_RE.findall(fh.read().decode(errors="replace"))}

    def wait_web_ready(self, gone: int | None = None) -> None:
        """Until the master has its configured number of workers, each of which said it is ready (and
        `gone`, a killed worker, is no longer among them)."""
        expected = configured_workers(self.env)

        def ready():
            if self.web.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.web.proc.returncode}; see {self.web.log_path}")
            workers = set(self.web.workers())
            return len(workers) == expected and gone not in workers and workers <= self._ready_pids()

        _wait(ready, self.ready_timeout, "gunicorn's workers were not all ready")

    def start_worker(self) -> None:
        log = open(self.workdir / "worker.log", "ab")  # noqa: SIM115 - the child keeps its own copy
        self.worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.groups.append(self.worker.pid)
        self.wait_worker_ready()

    def wait_worker_ready(self) -> None:
        """Until the RQ worker of this `worker.py` has registered in Redis (it then takes jobs)."""
        import redis as redis_lib
        from rq import Worker

        connection = redis_lib.Redis.from_url(self.env["REDIS_URL"])
        pid = self.worker.pid

        def ready():
            if self.worker.poll() is not None:
                raise RuntimeError(f"worker.py exited with {self.worker.returncode}; see {self.workdir}/worker.log")
            return any(worker.pid == pid for worker in Worker.all(connection=connection))

        try:
            _wait(ready, self.ready_timeout, "worker.py did not register with Redis", interval=0.2)
        finally:
            connection.close()

    # --- kills ----------------------------------------------------------------------------------------
    def kill_web_worker(self) -> int:
        """SIGKILL one gunicorn worker; returns once the master has replaced it."""
        pid = self.web.workers()[0]
        os.kill(pid, signal.SIGKILL)
        self.wait_web_ready(gone=pid)
        return pid

    def kill_master(self) -> int:
        """SIGKILL gunicorn's master; its workers notice and exit on their own; then start gunicorn again."""
        master, workers = self.web.proc.pid, self.web.workers()
        os.kill(master, signal.SIGKILL)
        self.web.proc.wait(10)
        self.web.log.close()
        # The old workers still hold the listening socket: a new master could not bind before they are gone
        # (systemd, too, waits for the unit's processes before it restarts it).
        _wait(lambda: not any(_alive(pid) for pid in workers), self.ready_timeout,
              "the killed master's workers did not exit")
        self.start_web()
        return master

    def kill_worker(self) -> int:
        """SIGKILL `worker.py` (only it: its children are left as a crash leaves them); start it again."""
        pid = self.worker.pid
        os.kill(pid, signal.SIGKILL)
        self.worker.wait(10)
        self.start_worker()
        return pid

    def drainers(self) -> list[int]:
        """Children of the running `worker.py` that drain pushes (`flask ... drain-pushes`)."""
        return [pid for pid in children(self.worker.pid) if "drain-pushes" in cmdline(pid)]

    def kill_drainer(self, look_for: float = 10.0) -> int | None:
        """SIGKILL the push drainer `worker.py` runs, looked for during `look_for` seconds; None if it runs none."""
        deadline = time.monotonic() + look_for
        while not (found := self.drainers()) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not found:
            return None
        os.kill(found[0], signal.SIGKILL)
        return found[0]

    # --- memory ---------------------------------------------------------------------------------------
    def _sample(self) -> None:
        while not self._sampling.wait(0.5):
            self.sample_once()

    def sample_once(self) -> None:
        processes = []
        if self.web is not None:
            processes += [(pid, "gunicorn worker") for pid in self.web.workers()]
        if self.worker is not None and self.worker.poll() is None:
            processes.append((self.worker.pid, "worker.py"))
            processes += [(pid, "child of worker.py: " + (cmdline(pid)[-60:] or "?"))
                          for pid in descendants(self.worker.pid)]
        for pid, role in processes:
            peak = peak_rss_mb(pid)
            if peak is not None and peak >= self.peaks.get(pid, (role, 0.0))[1]:
                self.peaks[pid] = (role, peak)

    def peak(self, web: bool) -> tuple[float, int]:
        """The highest peak RSS (MB) among gunicorn workers (`web`) or `worker.py` and its children, and how
        many such processes were seen."""
        values = [mb for role, mb in self.peaks.values() if role.startswith("gunicorn") == web]
        return (max(values) if values else float("nan")), len(values)

    # --- stopping -------------------------------------------------------------------------------------
    def stop(self) -> None:
        self.sample_once()
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join(5)
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(10)
        if self.web is not None:
            self.web.stop()
        for group in self.groups:  # what outlived a kill
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
