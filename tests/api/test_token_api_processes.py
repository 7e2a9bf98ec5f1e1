"""The token service API's single-flight across processes: the portal under gunicorn with four worker
processes, four apps whose access tokens (and the component token) have expired, and a hundred clients asking
at once over HTTP. WeChat sees one `api_authorizer_token` call per app and one `api_component_token` call,
and every client of an app is handed the same new token. When the same hundred then report that token as
rejected (the invalidate endpoint), each app is refreshed once more.

Each request reads the token once before it waits for the refresh lock; the re-check under the lock must
read what another process has just stored, not what this request read before it waited.

Without Redis the portal runs in embedded mode, which is one process: the refresh lock is a thread lock of
that process and no token is cached between processes, so each gunicorn process refreshes on its own. The
single-flight test needs Redis and is skipped without it. What embedded mode must still get right across
processes is tested below with Redis switched off: a process whose refresh token was just replaced by
another process's refresh (61023) follows the stored one, and no client is told to re-authorize."""

import contextlib
import os
import signal
import subprocess
import sys
import threading

import pytest
import requests
import sqlalchemy as sa

from tests.api.conftest import bearer
from tests.api.openapi_check import check
from tests.helpers import drop_cached_tokens
from tests.test_gunicorn import ROOT, free_port, wait_until_up, wait_until_workers_ready

TOKEN = "/authorizers/{appid}/access-token"
INVALIDATE = "/authorizers/{appid}/access-token/invalidate"
APPS, CLIENTS, WORKERS, THREADS = 4, 100, 4, 8

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="the refresh lock is shared by processes only through Redis (embedded mode is one process)")


@contextlib.contextmanager
def gunicorn(platform, log_path, redis=True):
    """`gunicorn -c gunicorn.conf.py wsgi:app` with WORKERS processes on the test database and Redis (or
    none: embedded mode in each process), as the platform's portal (same component, same sandbox); yields
    its base URL once every worker serves."""
    config = platform.app.config
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WECHAT_", "REDIS_URL"))}
    env.update({name: str(config[name]) for name in config if name.startswith("WECHAT_")})
    env.update(GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(WORKERS), GUNICORN_THREADS=str(THREADS),
               DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
               SECRET_KEY=config["SECRET_KEY"], DATA_KEY=config["DATA_KEY"],
               PUBLIC_BASE_URL=config["PUBLIC_BASE_URL"],
               # one key makes every call of the test: its rate limit is not what is tested here
               API_RATE_LIMIT="100000 per minute")
    if redis:
        env["REDIS_URL"] = config["REDIS_URL"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                  cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_workers_ready(log_path, WORKERS, server)  # each has loaded the app: /healthz answers at once
        wait_until_up(base + "/healthz", server)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def stampede(base, key, appids, report=None):
    """CLIENTS clients, released together, client i asking for the token of appids[i % len(appids)], or with
    `report` ({appid: token}) reporting that app's token as rejected by WeChat. Returns [(appid, response)]
    in client order."""
    start, answers = threading.Barrier(CLIENTS), [None] * CLIENTS

    def client(i):
        appid = appids[i % len(appids)]
        url = f"{base}/api/v1" + (TOKEN if report is None else INVALIDATE).format(appid=appid)
        with requests.Session() as http:
            start.wait()
            if report is None:
                answers[i] = appid, http.get(url, headers=bearer(key), timeout=60)
            else:
                answers[i] = appid, http.post(url, json={"access_token": report[appid]}, headers=bearer(key),
                                              timeout=60)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert None not in answers, "a client got no answer"
    return answers


def served_tokens(answers, template=TOKEN, method="GET"):
    """{appid: the set of tokens its clients were handed}, after checking every answer against the document."""
    statuses = [response.status_code for _appid, response in answers]
    assert statuses == [200] * CLIENTS, [(r.status_code, r.text[:200]) for _a, r in answers if r.status_code != 200]
    served = {}
    for appid, response in answers:
        body = check(response, template, method)
        assert body["appid"] == appid
        served.setdefault(appid, set()).add(body["access_token"])
    return served


def stored_tokens(platform, appids):
    from portal.extensions import db
    from portal.models import MiniProgram

    with platform.app.app_context():
        db.session.expire_all()
        rows = MiniProgram.query.filter(MiniProgram.authorizer_appid.in_(appids)).all()
        return {row.authorizer_appid: row.authorizer_access_token for row in rows}


def expire_every_token(platform):
    """The stored tokens (the apps' and the component's) expire and the shared cache forgets them, as two
    hours passing would; WeChat's side expires them too."""
    from portal.extensions import db

    with platform.app.app_context():
        db.session.execute(sa.text("UPDATE wxminiprograms SET authorizer_expires = 1"))
        db.session.execute(sa.text("UPDATE weixin_account SET token_expires = 1"))
        db.session.commit()
    drop_cached_tokens(platform.app)
    platform.api.advance(7200 + 600)


@needs_redis
def test_a_hundred_clients_in_four_processes_cause_one_refresh_per_app_on_expiry_and_on_report(platform, make_key,
                                                                                                  tmp_path):
    appids = [platform.authorized_app() for _ in range(APPS)]
    key = make_key()
    api = platform.api

    def calls():
        return api.count("api_component_token"), api.count("api_authorizer_token")

    with gunicorn(platform, tmp_path / "gunicorn.log") as base:
        # every process serves the valid tokens first, from what the portal holds: no refresh
        before = calls()
        held = served_tokens(stampede(base, key, appids))
        assert held == {appid: {token} for appid, token in stored_tokens(platform, appids).items()}
        assert calls() == before

        expire_every_token(platform)
        before = calls()
        served = served_tokens(stampede(base, key, appids))
        after_expiry = calls()

        # the same clients report the token they were handed as rejected (40001/42001 at WeChat)
        handed = {appid: next(iter(tokens)) for appid, tokens in served.items()}
        renewed = served_tokens(stampede(base, key, appids, report=handed), INVALIDATE, "POST")
        after_report = calls()

    # The sandbox counts api_authorizer_token under the component (whose token the call carries): as many calls
    # as apps, each app renewed, means one call per app.
    component_calls, authorizer_calls = (after_expiry[0] - before[0], after_expiry[1] - before[1])
    assert (component_calls, authorizer_calls) == (1, APPS)
    for appid in appids:
        assert len(served[appid]) == 1, f"{appid}'s clients were handed {len(served[appid])} tokens"
        assert served[appid] != held[appid], f"{appid}'s expired token was served"
    assert (after_report[0] - after_expiry[0], after_report[1] - after_expiry[1]) == (0, APPS)
    stored = stored_tokens(platform, appids)
    for appid in appids:
        assert renewed[appid] == {stored[appid]}, f"{appid}'s reporters were handed {len(renewed[appid])} tokens"
        assert renewed[appid] != served[appid], f"{appid}'s rejected token was handed back"


def test_without_a_shared_lock_processes_that_refresh_at_once_follow_each_others_refresh_token(
        platform, make_key, tmp_path):
    """Embedded mode under four processes (each with its own lock): on expiry several processes refresh the
    same app with the same refresh token, and WeChat replaces it on the first call. The others get 61023 and
    follow the refresh token the first one stored: every client is served, no app is lost."""
    from portal.extensions import db
    from portal.models import MiniProgram

    appids = [platform.authorized_app() for _ in range(APPS)]
    key = make_key()
    with gunicorn(platform, tmp_path / "gunicorn.log", redis=False) as base:
        expire_every_token(platform)
        served = served_tokens(stampede(base, key, appids))
    stored = stored_tokens(platform, appids)
    with platform.app.app_context():
        states = {row.authorizer_appid: row.auth_state
                  for row in MiniProgram.query.filter(MiniProgram.authorizer_appid.in_(appids))}
        db.session.remove()
    assert set(states.values()) == {"authorized"}, states
    for appid in appids:
        assert stored[appid] in served[appid]
    from portal.services.wechat import get_client

    with platform.app.app_context():  # the refresh token each app holds now is the one WeChat holds
        store = get_client().tokens
        for appid in appids:
            assert store.force_refresh_authorizer(appid)
