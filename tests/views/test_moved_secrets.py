"""A token copied from one mini-program's row into another's (raw SQL, as someone with write access to the
database could) does not decrypt there: the pages treat it as lost and recover it from WeChat, or ask for
re-authorization; they never use the other app's token and never answer 500."""

import logging
import re

import sqlalchemy as sa

from portal.models import MiniProgram
from tests.helpers import drop_cached_tokens
from tests.test_secretbox import move_ciphertext


def _move_refresh_token(env, from_appid):
    """Copy another app's refresh token into env's row and expire env's access token, so the next page
    that calls WeChat needs the refresh token."""
    from portal.extensions import db

    with env.app.app_context():
        source = MiniProgram.query.filter_by(authorizer_appid=from_appid).one().id
        move_ciphertext("wxminiprograms", "authorizer_refresh_token", source, env.mp_id)
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE wxminiprograms SET authorizer_expires = 0 WHERE id = :id"), {"id": env.mp_id})
    drop_cached_tokens(env.app)


def test_a_moved_refresh_token_is_treated_as_lost_and_recovered_from_wechat(code_env, caplog):
    env = code_env
    other = env.platform.authorized_app(env.tenant_id, nick_name="隔壁小程序")
    _move_refresh_token(env, other)
    refused = env.api.count("api_authorizer_token", errcode=61023)
    listed = env.api.count("api_get_authorizer_list")
    with caplog.at_level(logging.ERROR, logger="portal.secrets"):
        page = env.get("domains")
    assert page.status_code == 200
    assert env.api.count("api_authorizer_token", errcode=61023) == refused  # the other app's token was never sent
    assert env.api.count("api_get_authorizer_list") == listed + 1
    assert f"wxminiprograms.authorizer_refresh_token of row id {env.mp_id} cannot be decrypted" in caplog.text
    with env.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=env.appid).one()
        assert mp.authorizer_refresh_token and mp.is_authorized
        assert mp.authorizer_refresh_token != MiniProgram.query.filter_by(authorizer_appid=other).one() \
            .authorizer_refresh_token


def test_a_moved_refresh_token_of_an_app_wechat_no_longer_lists_asks_for_reauthorization(code_env):
    from portal.extensions import db

    env = code_env
    other = env.platform.authorized_app(env.tenant_id, nick_name="隔壁小程序")
    env.api.unauthorize(env.appid)
    with env.app.app_context():  # as if the unauthorized push had been lost
        MiniProgram.query.filter_by(authorizer_appid=env.appid).one().auth_state = "authorized"
        db.session.commit()
    _move_refresh_token(env, other)
    sent = env.api.count("api_authorizer_token")
    page = env.get("domains")
    [error] = re.findall(r'<p class="error">([^<]+)</p>', page.get_data(as_text=True))
    assert page.status_code == 200 and "请让商家重新授权" in error
    assert env.api.count("api_authorizer_token") == sent  # the other app's token was never sent
    with env.app.app_context():
        assert MiniProgram.query.filter_by(authorizer_appid=env.appid).one().needs_reauth


def test_a_push_whose_payload_was_moved_is_not_applied_and_shows_why(app, client, staff):
    from portal.extensions import db
    from portal.models import CallbackEvent
    from portal.services.authorization import complete_from_push

    xml = ("<xml><AppId>wxcomponent</AppId><CreateTime>{n}</CreateTime><InfoType>authorized</InfoType>"
           "<AuthorizerAppid>wxapp{n}</AuthorizerAppid><AuthorizationCode>code-{n}</AuthorizationCode></xml>")
    with app.app_context():
        rows = [CallbackEvent(source="auth", kind="authorized", create_time=n, dedup_key=f"moved:{n}",
                              outcome="queued", payload=xml.format(n=n)) for n in (1, 2)]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        move_ciphertext("callback_events", "payload", ids[0], ids[1])
        db.session.rollback()  # a new transaction sees the moved value (REPEATABLE READ)
        assert complete_from_push(ids[1]) is None
    page = client.get("/staff/platform/pushes")
    assert page.status_code == 200 and "the stored push cannot be decrypted" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CallbackEvent, ids[1]).outcome == "failed"
