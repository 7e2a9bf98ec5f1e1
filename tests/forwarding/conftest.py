"""A portal wired to the sandbox with a logged-in staff member, fast forwarding retries, and helpers to
make rules through the staff pages and to read what the sandbox's receivers got."""

import hashlib
import hmac
import json
import re

import pytest

from tests.conftest import post_form

SECRET_RE = re.compile(r'<code id="rule-secret">([^<]+)</code>')


class ForwardingEnv:
    def __init__(self, platform, staff_client):
        self.platform, self.app, self.api, self.staff = platform, platform.app, platform.api, staff_client

    def receiver_url(self, name):
        return f"{self.api.base}/sandbox/receiver/{name}"

    def configure(self, name, **config):
        return self.api.call(f"/sandbox/receivers/{name}", config)

    def received(self, name, outcome=None):
        got = self.api.call(f"/sandbox/receivers/{name}", method="GET")["received"]
        return [r for r in got if outcome in (None, r["outcome"])]

    def create_rule(self, name, receiver, kinds="*", tenant_id=0, appid="", url=None):
        """A rule made through the staff page; returns (the page's response, the secret it showed)."""
        response = post_form(self.staff, "/staff/forwarding/new", {
            "name": name, "url": url or self.receiver_url(receiver), "kinds": kinds, "tenant_id": tenant_id,
            "appid": appid}, token_from="/staff/forwarding/new")
        match = SECRET_RE.search(response.get_data(as_text=True))
        return response, match and match.group(1)

    def message(self, appid, text, msg_type="text"):
        """A user's message to `appid`, pushed by the sandbox and answered before this returns; returns the
        sandbox's record of the push (its attempts carry WeChat's view of the answer time)."""
        return self.api.call("/sandbox/messages", {"appid": appid, "msg_type": msg_type, "content": text,
                                                   "wait": True})["push"]

    def deliveries(self):
        from portal.extensions import db
        from portal.models import ForwardDelivery

        with self.app.app_context():
            rows = db.session.query(ForwardDelivery).order_by(ForwardDelivery.id).all()
            return [{"id": d.id, "rule_id": d.rule_id, "appid": d.appid, "status": d.status,
                     "attempts": d.attempts, "last_error": d.last_error} for d in rows]


def verify(secret, record):
    """The receiver's check, written from the README's description and not from the portal's code."""
    timestamp, body = record["headers"]["X-Portal-Timestamp"], record["body"].encode("utf-8")
    expected = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, record["headers"]["X-Portal-Signature"])


def body(record):
    return json.loads(record["body"])


@pytest.fixture
def env(platform, make_user, login_as):
    platform.app.config.update(FORWARDING_RETRY_BASE_SECONDS=0.2, FORWARDING_RETRY_MAX_SECONDS=0.4,
                               FORWARDING_TIMEOUT_SECONDS=1.0)
    make_user(role="staff", email="forwarding-staff@example.com")
    staff_client = platform.client()
    assert login_as("forwarding-staff@example.com", test_client=staff_client).status_code == 302
    yield ForwardingEnv(platform, staff_client)
    # a rule's run outlives its last delivery a moment (it waits for more): embedded, it must end before
    # the tables are emptied, or it would send the next test's pushes beside that test's own run
    assert platform.app.extensions["coordination"].wait_until_idle(), "forwarding runs did not finish"
