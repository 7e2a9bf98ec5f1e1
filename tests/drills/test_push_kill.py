"""Drill: SIGKILL of any one process of the default deployment while WeChat's pushes arrive loses no push
that was answered `success`, and stores none twice.

The deployment is the one the README's "Production deployment" describes, configured from the environment
alone (no CALLBACK_* setting, so it runs whatever the code's default acknowledgement is): `gunicorn -c
gunicorn.conf.py wsgi:app` with 2 workers of 4 threads behind a trusted proxy hop (TRUSTED_PROXY_HOPS=1,
the sender's X-Forwarded-For names eight of WeChat's servers) and one `python worker.py`, on the test
database and the test Redis. About 30 pushes a second (tickets and users' text messages) keep coming while
a web worker, the gunicorn master, `worker.py` and the push drainer `worker.py` runs (if the code has one)
are killed in turn, each followed by pushes acknowledged by the restored deployment. Then the test waits -
for exactly that condition - until every acknowledged push is stored, found by the unique marker in its
stored payload. The processes and the sender are `bench.production` and `bench.push_drill`, which `make
bench` runs at full speed.
"""

import os

import pytest

from bench.load import PushFactory
from bench.production import Deployment, production_env
from bench.push_drill import Sender, StoredPushes, kill_in_turn, summary
from tests.conftest import component_credentials

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="worker.py needs Redis (REDIS_URL)")

RATE = 30  # pushes per second
BETWEEN = 40  # pushes acknowledged after each kill before the next one
STORE_TIMEOUT = 240.0


@pytest.fixture
def drill(make_app, tmp_path):
    """The default deployment on the test database, three mini-programs that receive users' messages, and
    a push factory with the platform's credentials; the processes are ended after the test."""
    from portal.extensions import db
    from portal.models import MiniProgram

    credentials = component_credentials()
    app = make_app(**credentials)
    apps = [(f"wxdrill{n:010d}", f"gh_drill{n:08d}") for n in range(1, 4)]
    with app.app_context():
        db.session.add_all(MiniProgram(authorizer_appid=appid, user_name=name, nick_name=f"Drill {n}")
                           for n, (appid, name) in enumerate(apps, 1))
        db.session.commit()
    nowhere = "http://127.0.0.1:9"  # no WeChat call is part of receiving a push
    env = production_env(dict(
        credentials, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=app.config["SECRET_KEY"], DATA_KEY=app.config["DATA_KEY"], WECHAT_API_BASE=nowhere,
        WECHAT_MP_BASE=nowhere, WECHAT_OPEN_BASE=nowhere, PUBLIC_BASE_URL="http://127.0.0.1",
        PORTAL_INSTANCE_PATH=tmp_path / "instance", GUNICORN_WORKERS=2, GUNICORN_THREADS=4, TRUSTED_PROXY_HOPS=1))
    deployment = Deployment(env, tmp_path)
    try:
        deployment.start()
        yield app, deployment, PushFactory(credentials), apps
    finally:
        deployment.stop()


def test_kill_9_of_each_process_loses_no_acknowledged_push(drill):
    app, deployment, factory, apps = drill
    stored = StoredPushes(app)
    sender = Sender(deployment.url, factory, apps, threads=4, rate=RATE, addresses=8).start()
    try:
        kills = kill_in_turn(deployment, sender, between=BETWEEN)
    finally:
        sender.stop()
    waited, missing = stored.wait_for(set(sender.acknowledged), timeout=STORE_TIMEOUT)
    result = summary(sender, stored.rows, missing, waited)
    print(f"push drill: {result}; kills: {kills}")
    assert [name for name, _what in kills] == ["a gunicorn worker", "the gunicorn master", "worker.py",
                                                "the push drainer"]
    assert result["acknowledged"] >= 5 * BETWEEN, result
    assert not missing, f"{len(missing)} acknowledged pushes not stored after {STORE_TIMEOUT:.0f} s: {result}"
    assert result["stored_twice"] == 0, result
    assert result["resent"] > 0, result  # WeChat's retries of acknowledged pushes were part of the drill
