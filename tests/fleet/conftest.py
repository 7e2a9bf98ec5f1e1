"""Fleet fixtures: a portal wired to the sandbox with staff logged in, fast back-offs, and helpers that
run a fleet release to its end the way workers and the periodic tick would."""

import time

import pytest

from portal.extensions import db
from portal.models import FleetRelease, FleetTarget
from tests.conftest import drain_jobs, post_form


class FleetEnv:
    def __init__(self, platform, client, staff_id):
        self.platform, self.app, self.api, self.client, self.staff_id = platform, platform.app, platform.api, \
            client, staff_id

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
    platform.app.config.update(FLEET_BACKOFF_SECONDS=0.05, FLEET_PRIVACY_RECHECK_SECONDS=0.1, FLEET_QUOTA_TTL=0,
                               FLEET_RATE_LIMIT_PAUSE=0.1, JOB_RETRY_INTERVALS=[0, 0], AUDIT_POLL_AFTER_MINUTES=0)
    staff_id = make_user(role="staff", email="ops@example.com")
    client = platform.client()
    assert login_as("ops@example.com", test_client=client).status_code == 302
    return FleetEnv(platform, client, staff_id)
