"""The token health page: the verify ticket's age, the component token's expiry, and per app its token's
expiry, the last refresh (when, and its result in words) and the refresh token's age, apps at risk first.

Only plain columns are selected, never a token column, so no token is even decrypted for this page; and
the page costs the same few statements at any number of apps (a count by risk, one page of rows, the
platform's row).
"""

import json
import time

from sqlalchemy import case, func, or_, select, text

from portal.extensions import db
from portal.models import MiniProgram, Tenant
from portal.models.miniprogram import AUTH_AUTHORIZED, AUTH_NEEDS_REAUTH
from portal.services.platform import component_health
from portal.services.tokens import REFRESH_MARGIN
from portal.timeutil import from_epoch, utcnow

RISK_REAUTH, RISK_FAILED, RISK_EXPIRED, RISK_EXPIRING, RISK_OK = range(5)
RISKS = (RISK_REAUTH, RISK_FAILED, RISK_EXPIRED, RISK_EXPIRING, RISK_OK)


def _risk(now):
    """Why an app's token is at risk, most urgent first. Expiring soon: within the refresh margin, which
    the proactive refresher (every 5 minutes, 30 minutes ahead) never lets a healthy token reach."""
    expires = MiniProgram.authorizer_expires
    return case(
        (MiniProgram.auth_state == AUTH_NEEDS_REAUTH, RISK_REAUTH),
        (MiniProgram.token_refresh_ok.is_(False), RISK_FAILED),
        (or_(expires.is_(None), expires <= now), RISK_EXPIRED),
        (expires <= now + REFRESH_MARGIN, RISK_EXPIRING),
        else_=RISK_OK)


def token_health(page, per_page):
    """{"component": the platform's ticket and token, "counts": {risk: apps}, "total", "rows": this page}.
    Apps no longer authorized (revoked) have no token and are left out."""
    now = int(time.time())
    risk = _risk(now).label("risk")
    watched = MiniProgram.auth_state.in_((AUTH_AUTHORIZED, AUTH_NEEDS_REAUTH))
    counts = dict.fromkeys(RISKS, 0)
    # Grouped by the alias: the CASE written out again would carry bound parameters of its own, which
    # MySQL's ONLY_FULL_GROUP_BY need not see as the same expression.
    for level, count in db.session.execute(select(risk, func.count()).where(watched).group_by(text("risk"))):
        counts[level] = count
    query = select(MiniProgram.id, MiniProgram.nick_name, MiniProgram.authorizer_appid, MiniProgram.auth_state,
                   MiniProgram.authorizer_expires, MiniProgram.token_refreshed_at, MiniProgram.token_refresh_ok,
                   MiniProgram.token_refresh_result, MiniProgram.refresh_token_updated_at, Tenant.name, risk) \
        .outerjoin(Tenant, Tenant.id == MiniProgram.tenant_id).where(watched) \
        .order_by(risk, MiniProgram.authorizer_expires, MiniProgram.id) \
        .limit(per_page).offset((page - 1) * per_page)
    current = utcnow()
    rows = [{
        "id": row.id, "name": row.nick_name or row.authorizer_appid, "appid": row.authorizer_appid,
        "tenant": row.name, "state": row.auth_state, "risk": row.risk,
        "expires_at": from_epoch(row.authorizer_expires) if row.authorizer_expires else None,
        "token_left": row.authorizer_expires - now if row.authorizer_expires else None,
        "refreshed_at": row.token_refreshed_at, "refresh_ok": row.token_refresh_ok,
        "refresh_result": json.loads(row.token_refresh_result) if row.token_refresh_result else None,
        "refresh_token_age": (current - row.refresh_token_updated_at).total_seconds()
        if row.refresh_token_updated_at else None,
    } for row in db.session.execute(query)]
    return {"component": component_health(), "counts": counts, "total": sum(counts.values()), "rows": rows}


def result_text(result, lang):
    """A failed refresh's reason in `lang`, with WeChat's errcode when there was one."""
    text = result.get(lang) or next((v for k, v in result.items() if k != "errcode"), "")
    code = result.get("errcode")
    if code is None:
        return text
    return f"{text}（错误码 {code}）" if str(lang).startswith("zh") else f"{text} (error {code})"
