"""Drill fixtures: throwaway Redis and MariaDB servers the test owns, on free loopback ports in a temporary
directory, so a drill can stop and restart them (same port, same data directory) without touching the
servers the rest of the suite uses. Nothing is mocked: the portal, the workers and the sandbox only see a
server go away and come back."""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from tests.fleet.conftest import fleet_env, real_workers  # noqa: F401 - the fleet drill's fixtures

needs_mariadb = pytest.mark.skipif(not shutil.which("mariadbd") or not shutil.which("mariadb-install-db"),
                                   reason="needs the MariaDB server binaries (make test installs them)")
needs_redis_server = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """A server process on a fixed port: `stop()` (SIGTERM, as an operator's restart), `start()` again."""

    name = "server"

    def __init__(self, workdir):
        self.workdir, self.port, self.process = workdir, free_port(), None
        self.log = open(os.path.join(workdir, f"{self.name}.log"), "ab")

    def command(self):
        raise NotImplementedError

    def start(self, timeout=60.0):
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert self.process.poll() is None, f"{self.name} exited; see {self.log.name}"
            assert time.monotonic() < deadline, f"{self.name} did not start; see {self.log.name}"
            time.sleep(0.1)

    def ready(self):
        return _port_open(self.port)

    def stop(self, timeout=30.0):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        while _port_open(self.port):
            time.sleep(0.05)

    def restart(self, down_for=0.0):
        self.stop()
        time.sleep(down_for)
        self.start()


class RedisServer(Server):
    """Redis without persistence: a restart loses every queued job and cached token, the worst case."""

    name = "redis"

    def command(self):
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no", "--dir", self.workdir]

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


class MariaDBServer(Server):
    """A MariaDB data directory made by mariadb-install-db, with the `portal` user the tests use."""

    name = "mariadb"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.datadir, self.socket = os.path.join(workdir, "data"), os.path.join(workdir, "mysql.sock")
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
                        f"--user={getpass.getuser()}",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       stdout=self.log, stderr=self.log, check=True)

    def command(self):
        return ["mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
                f"--port={self.port}", "--bind-address=127.0.0.1", f"--user={getpass.getuser()}",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
                "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--innodb-buffer-pool-size=32M",
                f"--log-error={os.path.join(self.workdir, 'mariadb.err')}"]

    def create_user(self):
        sql = ("CREATE USER IF NOT EXISTS 'portal'@'127.0.0.1' IDENTIFIED BY 'portal-test';"
               "GRANT ALL PRIVILEGES ON *.* TO 'portal'@'127.0.0.1';")
        subprocess.run(["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-e", sql], check=True,
                       stdout=self.log, stderr=self.log)

    def url(self, database):
        return f"mysql+mysqldb://portal:portal-test@127.0.0.1:{self.port}/{database}?charset=utf8mb4"


def wait_for_workers(app, count, timeout=30.0):
    """Wait until `count` RQ workers have registered with the app's Redis."""
    from rq import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=app.extensions["redis"])) < count:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)


@pytest.fixture
def own_redis():
    workdir = tempfile.mkdtemp(prefix="drill-redis-")
    server = RedisServer(workdir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def own_mariadb():
    workdir = tempfile.mkdtemp(prefix="drill-mariadb-")
    server = MariaDBServer(workdir)
    server.start()
    server.create_user()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
