"""Tokens that never die: single-flight refresh across threads and processes, compare-and-invalidate,
refresh-token rotation that survives killed workers, and 61023 recovery. All against the sandbox."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from tests.helpers import drop_cached_tokens

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="cross-process locking needs Redis")


def _expire_our_tokens(platform, appid):
    """Make the portal's stored tokens expired, as two hours passing would."""
    from portal.extensions import db

    with platform.app.app_context():
        db.session.execute(sa.text("UPDATE wxminiprograms SET authorizer_expires = 1 WHERE authorizer_appid = :a"),
                           {"a": appid})
        db.session.execute(sa.text("UPDATE weixin_account SET token_expires = 1"))
        db.session.commit()
    drop_cached_tokens(platform.app)
    platform.api.advance(7200 + 600)  # WeChat's side expires too


def _worker_script(platform, appid, threads):
    settings = {k: v for k, v in platform.app.config.items() if k.startswith(("WECHAT_", "SQLALCHEMY_DATABASE_URI",
                                                                              "REDIS_URL", "DATA_KEY", "SECRET_KEY"))}
    return textwrap.dedent(f"""
        import json, sys, threading
        sys.path.insert(0, {ROOT!r})
        from portal import create_app
        from portal.services.wechat import get_client
        app = create_app(json.loads({json.dumps(json.dumps(settings))}))
        results = []
        start = threading.Event()
        def work():
            start.wait()
            with app.app_context():
                try:
                    get_client().miniprogram({appid!r}).code.get_category()
                    results.append("ok")
                except Exception as exc:
                    results.append(type(exc).__name__ + ":" + str(exc))
        threads = [threading.Thread(target=work) for _ in range({threads})]
        for t in threads: t.start()
        start.set()
        for t in threads: t.join()
        print(json.dumps(results))
    """)


@needs_redis
def test_expired_tokens_refresh_exactly_once_across_4_processes_and_200_threads(platform):
    appid = platform.authorized_app()
    _expire_our_tokens(platform, appid)
    before_component = platform.api.count("api_component_token")
    before_authorizer = platform.api.count("api_authorizer_token")
    script = _worker_script(platform, appid, threads=50)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results += json.loads(out.strip().splitlines()[-1])
    assert results == ["ok"] * 200, [r for r in results if r != "ok"][:5]
    assert platform.api.count("api_component_token") - before_component == 1
    assert platform.api.count("api_authorizer_token") - before_authorizer == 1


def test_threads_share_one_refresh_in_one_process(platform):
    import threading

    from portal.services.wechat import get_client

    appid = platform.authorized_app()
    _expire_our_tokens(platform, appid)
    errors = []

    def work():
        with platform.app.app_context():
            try:
                get_client().miniprogram(appid).code.get_category()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert platform.api.count("api_authorizer_token", errcode=0) == 1


def test_token_rejected_by_wechat_is_invalidated_once_and_retried(platform):
    """Our store thinks the token is valid, WeChat says 42001: one refresh, the call succeeds."""
    from portal.services.wechat import get_client

    appid = platform.authorized_app()
    platform.api.advance(7200 + 600)
    with platform.app.app_context():
        get_client().miniprogram(appid).code.get_category()
        get_client().miniprogram(appid).code.get_category()
    assert platform.api.count("get_category", appid, errcode=42001) == 1
    assert platform.api.count("api_authorizer_token", errcode=0) == 1


def _stored_refresh_token(platform, appid):
    from portal.models import MiniProgram

    with platform.app.app_context():
        from portal.extensions import db

        db.session.expire_all()
        return MiniProgram.query.filter_by(authorizer_appid=appid).one().authorizer_refresh_token


def test_rotation_keeps_a_working_refresh_token_through_killed_workers(platform):
    appid = platform.authorized_app()
    settings = {k: v for k, v in platform.app.config.items()
                if k.startswith(("WECHAT_", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "DATA_KEY", "SECRET_KEY"))}
    settings["TOKEN_LOCK_TTL_MS"] = 1500  # a killed holder's lock frees quickly (a refresh takes ~10 ms here)
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {ROOT!r})
        from portal import create_app
        from portal.services.wechat import get_client
        app = create_app(json.loads({json.dumps(json.dumps(settings))}))
        with app.app_context():
            store = get_client().tokens
            print("ready", flush=True)
            for _ in range(1000):
                store.force_refresh_authorizer({appid!r})
                print("refreshed", flush=True)
    """)
    kills = 0
    refreshed = 0
    rng = random.Random(7)
    while refreshed < 200 or kills < 5:  # refreshes are fast: one process may reach 200 before its kill
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        # the kill falls among the refreshes, however long the start-up took on a loaded machine
        assert proc.stdout.readline() == "ready\n", "the worker did not start"
        deadline = time.monotonic() + rng.uniform(0.2, 1.5)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        refreshed += out.count("refreshed")
        kills += 1
    from portal.services.wechat import get_client

    with platform.app.app_context():
        token = get_client().tokens.force_refresh_authorizer(appid)
        assert token
        get_client().miniprogram(appid).code.get_category()
    assert kills >= 3 and refreshed >= 200
    stats = platform.api.calls("api_authorizer_token", limit=0)
    print(f"rotation: {refreshed} refreshes, {kills} workers killed, errcodes {stats['errcodes']}")


def test_lost_refresh_token_is_recovered_from_the_authorizer_list(platform):
    from portal.extensions import db
    from portal.models import MiniProgram
    from portal.services.wechat import get_client

    appid = platform.authorized_app()
    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        mp.authorizer_refresh_token = "a-stale-refresh-token-" + "x" * 20
        db.session.commit()
        token = get_client().tokens.force_refresh_authorizer(appid)
        assert token
    assert platform.api.count("api_get_authorizer_list") >= 1
    assert platform.api.count("api_authorizer_token", errcode=61023) == 1
    assert _stored_refresh_token(platform, appid) != "a-stale-refresh-token-" + "x" * 20


def test_app_no_longer_listed_is_marked_needs_reauthorization(platform):
    from portal.extensions import db
    from portal.models import Activity, MiniProgram
    from portal.services.wechat import get_client
    from portal.wechat.errors import AuthorizationLost

    appid = platform.authorized_app()
    platform.api.call("/sandbox/unauthorize", {"component_appid": platform.component_appid,
                                               "authorizer_appid": appid, "wait": True})
    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        mp.auth_state = "authorized"  # as if the unauthorized push had been lost
        mp.authorizer_refresh_token = "stale-" + "y" * 30
        db.session.commit()
        with pytest.raises(AuthorizationLost):
            get_client().tokens.force_refresh_authorizer(appid)
        db.session.expire_all()
        assert MiniProgram.query.filter_by(authorizer_appid=appid).one().auth_state == "needs_reauth"
        assert Activity.query.filter_by(action="authorization.lost").count() == 1


def test_sync_authorizers_restores_refresh_tokens_and_flags_revoked_apps(platform):
    from portal.extensions import db
    from portal.models import AuthorizerSync, MiniProgram

    kept, revoked = platform.authorized_app(), platform.authorized_app()
    with platform.app.app_context():
        MiniProgram.query.filter_by(authorizer_appid=kept).one().authorizer_refresh_token = "lost-" + "z" * 30
        db.session.commit()
    platform.api.unauthorize(revoked)
    with platform.app.app_context():  # as if the unauthorized push had been lost
        MiniProgram.query.filter_by(authorizer_appid=revoked).one().auth_state = "authorized"
        db.session.commit()
    result = platform.app.test_cli_runner().invoke(args=["sync-authorizers"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert {k: counts[k] for k in ("listed", "updated", "lost", "unclaimed", "changed")} == \
        {"listed": 1, "updated": 1, "lost": 1, "unclaimed": 0, "changed": 0}
    assert _stored_refresh_token(platform, kept) != "lost-" + "z" * 30
    with platform.app.app_context():  # as the lost push would have: unauthorized, its tokens dropped
        mp = MiniProgram.query.filter_by(authorizer_appid=revoked).one()
        assert (mp.auth_state, mp.authorizer_refresh_token) == ("unauthorized", None)
        run = db.session.get(AuthorizerSync, counts["sync"])  # kept for the report, as a staff-run sync is
        assert (run.origin, run.state, run.lost_count) == ("command", "done", 1)


def test_tokens_keep_working_while_redis_is_down(platform, make_app):
    """Redis is only a cache and a lock: with it unreachable, tokens come from the database."""
    import socket

    from portal.services.wechat import get_client

    appid = platform.authorized_app()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    settings = {k: v for k, v in platform.app.config.items() if k.startswith("WECHAT_")}
    broken = make_app(REDIS_URL=f"redis://127.0.0.1:{dead_port}/0", **settings)
    with broken.app_context():
        assert get_client().miniprogram(appid).code.get_category() is not None
        assert get_client().tokens.force_refresh_authorizer(appid)
