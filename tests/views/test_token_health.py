"""The token health page for staff: the ticket's age, the component token's expiry, and per app its token's
expiry, the last refresh's result and time and the refresh token's age; apps at risk first, never a token,
and the same few SQL statements at any number of apps."""

import re
import time

import sqlalchemy as sa

from tests.helpers import staff_client


def _execute(platform, sql, **params):
    from portal.extensions import db

    with platform.app.app_context():
        db.session.execute(sa.text(sql), params)
        db.session.commit()


def _tokens(platform):
    """Every token the portal holds, decrypted: none may appear on the page."""
    from portal.models import ComponentAccount, MiniProgram

    with platform.app.app_context():
        values = [v for mp in MiniProgram.query.all()
                  for v in (mp.authorizer_access_token, mp.authorizer_refresh_token) if v]
        values += [v for row in ComponentAccount.query.all()
                   for v in (row.component_access_token, row.component_verify_ticket) if v]
    return values


def _order(html, appids):
    """The appids in the order the table lists them."""
    rows = re.findall(r'<tr id="token-([^"]+)" data-risk="(\d)"', html)
    return [(appid, int(risk)) for appid, risk in rows if appid in appids]


def _refresh(platform, appid):
    from portal.services.wechat import get_client
    from portal.wechat.errors import WeChatError

    with platform.app.app_context():
        try:
            get_client().tokens.force_refresh_authorizer(appid)
        except WeChatError:
            pass


def test_apps_at_risk_come_first_with_the_reason_in_words(platform, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Noodle Shop")
    healthy, failing, expired, reauth, soon = (platform.authorized_app(tenant_id) for _ in range(5))
    _refresh(platform, healthy)
    # api_authorizer_token is a component-token call, so a fault names the call only: the next one fails
    platform.api.faults(endpoint="api_authorizer_token", errcode=40013, count=1)
    _refresh(platform, failing)
    assert platform.api.count("api_authorizer_token", errcode=40013) == 1
    _execute(platform, "UPDATE wxminiprograms SET authorizer_expires = :t WHERE authorizer_appid = :a",
             t=int(time.time()) - 60, a=expired)
    _execute(platform, "UPDATE wxminiprograms SET authorizer_expires = :t WHERE authorizer_appid = :a",
             t=int(time.time()) + 120, a=soon)
    _execute(platform, "UPDATE wxminiprograms SET auth_state = 'needs_reauth' WHERE authorizer_appid = :a", a=reauth)

    staff = staff_client(platform, make_user, login_as)
    page = staff.get("/staff/platform/tokens")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _order(html, {healthy, failing, expired, reauth, soon}) == \
        [(reauth, 0), (failing, 1), (expired, 2), (soon, 3), (healthy, 4)]
    failing_row = re.search(rf'<tr id="token-{failing}".*?</tr>', html, re.S).group(0)
    assert "AppID 无效" in failing_row and "40013" in failing_row  # the result in words, with the code
    healthy_row = re.search(rf'<tr id="token-{healthy}".*?</tr>', html, re.S).group(0)
    assert 'class="error"' not in healthy_row and "<small>成功</small>" in healthy_row
    assert re.search(r'id="risk-1">1<', html) and re.search(r'id="risk-0">1<', html)
    assert re.search(r'id="ticket-age">[^—<]+<', html)  # the sandbox pushed a ticket
    tokens = _tokens(platform)
    assert len(tokens) >= 10 and not [t for t in tokens if t in html]
    assert "令牌健康" in html and 'href="/staff/platform/tokens"' in html  # the staff navigation links it


def test_the_page_costs_the_same_few_statements_at_any_size(platform, make_tenant, make_user, login_as):
    from portal.extensions import db
    from portal.models import MiniProgram

    tenant_id = make_tenant("Noodle Shop")
    platform.authorized_app(tenant_id)
    staff = staff_client(platform, make_user, login_as)
    platform.app.config["PAGE_SIZE"] = 10

    def statements():
        seen = []

        def count(*_args):
            seen.append(1)

        with platform.app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert staff.get("/staff/platform/tokens").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = statements()
    with platform.app.app_context():
        now = int(time.time())
        db.session.add_all(MiniProgram(authorizer_appid=f"wxbulk{i:010d}", tenant_id=tenant_id, nick_name=f"批量 {i}",
                                       authorizer_expires=now + 60 * i) for i in range(40))
        db.session.commit()
    many = statements()
    assert many == few and many <= 10, (few, many)
    html = staff.get("/staff/platform/tokens").get_data(as_text=True)
    assert len(re.findall(r'<tr id="token-', html)) == 10
    assert "/staff/platform/tokens?page=2" in html and "第 1 页，共 5 页" in html
    second = staff.get("/staff/platform/tokens?page=5").get_data(as_text=True)
    assert len(re.findall(r'<tr id="token-', second)) == 1
