"""Fleet fixtures: a portal wired to the sandbox with staff logged in, fast back-offs, and helpers that
run a fleet release to its end the way workers and the periodic tick would."""

import os
import signal
import subprocess
import sys
import time

import pytest

from portal.extensions import db
from portal.models import FleetRelease, FleetTarget
from portal.models.fleet import FINAL
from tests.conftest import drain_jobs, post_form


class FleetEnv:
    def __init__(self, platform, client, staff_id):
        self.platform, self.app, self.api, self.client, self.staff_id = platform, platform.app, platform.api, \
            client, staff_id
        self.workers = []  # real `worker.py` processes, when a test starts them (Redis only)

    def template(self, version="2.0.0", **fields):
        body = {"component_appid": self.api.component_appid, "user_version": version, "user_desc": "shop",
                "pages": ["pages/index/index"], **fields}
        return self.api.call("/sandbox/templates", body)["template_id"]

    def apps(self, tenant_id, n, **fields):
        return [self.platform.authorized_app(tenant_id, **fields) for _ in range(n)]

    def post(self, path, data=None, **kwargs):
        return post_form(self.client, path, data, token_from="/dashboard", **kwargs)

    def drain(self):
        drain_jobs(self.app)

    def tick(self, release_id):
        from portal.jobs.fleet import fleet_tick_job

        with self.app.app_context():
            fleet_tick_job(release_id)
        self.drain()

    def settle(self, release_id, rounds=6):
        """Drain, wait out short back-offs and tick again, a few times (the periodic tick's job)."""
        for _ in range(rounds):
            self.drain()
            time.sleep(0.12)
            self.tick(release_id)

    def settle_until(self, release_id, predicate, timeout=30.0):
        """Settle until `predicate(states)` holds (states: {appid: state}); returns the states."""
        deadline = time.monotonic() + timeout
        while True:
            self.settle(release_id, rounds=1)
            states = self.states(release_id)
            if predicate(states) or time.monotonic() > deadline:
                return states

    def release(self, release_id):
        with self.app.app_context():
            row = db.session.get(FleetRelease, release_id)
            db.session.expunge(row)
            return row

    def states(self, release_id):
        with self.app.app_context():
            return {t.appid: t.state for t in db.session.query(FleetTarget).filter_by(release_id=release_id)}

    def targets(self, release_id):
        with self.app.app_context():
            rows = db.session.query(FleetTarget).filter_by(release_id=release_id).all()
            db.session.expunge_all()
            return {t.appid: t for t in rows}

    def audit_results(self, advance=61):
        """WeChat decides every open audit (sandbox clock) and its pushes reach the portal."""
        self.api.advance(advance)
        self.api.pushes()


@pytest.fixture
def fleet_env(platform, make_user, login_as):
    platform.app.config.update(FLEET_BACKOFF_SECONDS=0.05, FLEET_BACKOFF_MAX_SECONDS=1, FLEET_PRIVACY_RECHECK_SECONDS=0.1,
                               FLEET_QUOTA_TTL=0,
                               FLEET_STEP_GRACE_SECONDS=3, FLEET_STEP_LEASE_SECONDS=3,
                               FLEET_RATE_LIMIT_PAUSE=0.1, JOB_RETRY_INTERVALS=[0, 0], AUDIT_POLL_AFTER_MINUTES=0)
    staff_id = make_user(role="staff", email="ops@example.com")
    client = platform.client()
    assert login_as("ops@example.com", test_client=client).status_code == 302
    return FleetEnv(platform, client, staff_id)


# --- driving a release to its end (tests/fleet/test_scale, test_faults, test_quota) -------------------------

WAITING_ON_WECHAT = {"privacy", "in_audit", "delayed"}  # only the sandbox clock moves these on


def start(env, template_id, targets=None, **options):
    """Start a fleet release of `template_id` as the staff user; returns its id."""
    from portal.models import User
    from portal.services import fleet, library

    with env.app.app_context():
        library.sync_templates()
        release = fleet.start_fleet_release(template_id, db.session.get(User, env.staff_id),
                                            targets or {"mode": "all"}, options)
        return release.id


def run_to_end(env, release_id, timeout=45.0, step=None, drain=True, advance=31, limit=600.0):
    """Tick (and drain, unless real workers run the jobs) until the release stops being active, moving the
    sandbox clock on whenever every target only waits for WeChat (privacy scan, audit). `step(states)` runs
    after every round. Returns the final {appid: state}. Fails when no target has changed state for
    `timeout` seconds (a stuck release, however loaded the machine: the deadline follows progress, not the
    clock), or past `limit` seconds in all, so it never waits unbounded."""
    from portal.jobs.fleet import fleet_tick_job

    deadline, cap, seen = time.monotonic() + timeout, time.monotonic() + limit, None
    drain = drain and env.app.extensions.get("redis") is not None and not env.workers
    while True:
        if drain:
            env.settle(release_id, rounds=1)
        else:
            with env.app.app_context():
                fleet_tick_job(release_id)
            time.sleep(0.25)
        states = env.states(release_id)
        if step is not None:
            step(states)
        release = env.release(release_id)
        if not release.is_active or release.state == "paused":
            return states
        if states != seen:
            deadline, seen = time.monotonic() + timeout, states
        assert time.monotonic() < deadline, f"release {release_id}: no progress for {timeout}s: {states}"
        assert time.monotonic() < cap, f"release {release_id} still {release.state} after {limit}s: {states}"
        if all(s in WAITING_ON_WECHAT or s in FINAL for s in states.values()) and not _backing_off(env, release_id):
            env.audit_results(advance)


def _backing_off(env, release_id):
    """Whether a target waits out a back-off of the portal's own. A target in `privacy` waits for its next
    look at WeChat's scan (back-offs put a target back in the step before, never in `privacy`), and only
    WeChat's clock ends that scan: that wait is not one."""
    from portal.timeutil import utcnow

    now = utcnow()
    return any(t.not_before is not None and t.not_before > now and t.state != "privacy"
               for t in env.targets(release_id).values())


def texts(app, msgid, **values):
    """`msgid` as the portal shows it in every language (reasons are stored in the creator's language)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context():
        found = set()
        for lang in app.config["LANGUAGES"]:
            with force_locale(lang):
                found.add(gettext(msgid, **values))
        return found


def successes(api, endpoint, appids):
    """{appid: successful calls of `endpoint`} as the sandbox recorded them."""
    return {appid: api.count(endpoint, appid, errcode=0) for appid in appids}


def decide(api, appid, outcome, **rule):
    """Set how WeChat's review decides this app's next audits."""
    api.call("/sandbox/audits/decide", {"appid": appid, "rule": {"outcome": outcome, **rule}})


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worker_env(app):
    """The test app's configuration as the environment `python worker.py` reads it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               SECRET_KEY=app.config["SECRET_KEY"], DATA_KEY=app.config["DATA_KEY"],
               PUBLIC_BASE_URL=app.config["PUBLIC_BASE_URL"], PYTHONPATH=ROOT)
    env.update({k: str(v) for k, v in app.config.items() if k.startswith(("WECHAT_", "FLEET_"))
                and isinstance(v, (str, int, float)) and not isinstance(v, bool)})
    return env


def start_workers(env, count=2):
    """`count` real RQ workers (`python worker.py fleet wechat maintenance`), each in its own process group
    so a SIGKILL takes its work-horse down with it, as a crashed machine would."""
    for _ in range(count):
        env.workers.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "worker.py"), "fleet", "wechat", "maintenance"], cwd=ROOT,
            env=worker_env(env.app), start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("FLEET_WORKER_LOG", os.devnull), "a")))
    return env.workers


def kill_worker(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@pytest.fixture
def real_workers(fleet_env):
    """A callable that, with REDIS_URL, starts two real worker processes to run the jobs from then on (the test
    only ticks); embedded mode runs them in threads of the test process. Workers are killed after the test."""
    def start(count=2):
        if fleet_env.app.extensions.get("redis") is not None:
            start_workers(fleet_env, count)
        return fleet_env.workers

    yield start
    for process in fleet_env.workers:
        if process.poll() is None:
            kill_worker(process)
