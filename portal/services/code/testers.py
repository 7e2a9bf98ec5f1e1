"""Testers (体验者): bind by WeChat id, unbind, list. memberauth returns only `userstr`, so the WeChat id
each tester was bound with is kept in `wxminiprogram_testers` and shown next to WeChat's list."""

import re

from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.models import Tester
from portal.services import wechat_reads
from portal.services.wechat import api, done, wechat_errors

WECHAT_ID = re.compile(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$")


def list_testers(mp):
    """{"rows": [{userstr, wechatid or None}], "as_of"} for every tester WeChat lists, ours and those bound
    elsewhere (WeChat's list kept a short while: `wechat_reads`)."""
    def fetch():
        with wechat_errors():
            return api(mp).testers.list_testers()

    userstrs, as_of = wechat_reads.read(mp, wechat_reads.TESTERS, fetch)
    known = {t.userstr: t for t in db.session.scalars(select(Tester).where(Tester.miniprogram_id == mp.id))}
    return {"rows": [{"userstr": u, "wechatid": known[u].wechatid if u in known else None} for u in userstrs],
            "as_of": as_of}


def bind_tester(mp, actor, wechatid):
    """/wxa/bind_tester. :raise ValidationFailed: not a WeChat id. :raise WeChatFailed: 85001-85004."""
    wechatid = (wechatid or "").strip()
    if not WECHAT_ID.match(wechatid):
        raise ValidationFailed(_("A WeChat id has 6-20 letters, digits, “-” or “_” and starts with a letter."))
    try:
        with wechat_errors("testers.bind", mp, actor):
            userstr = api(mp).testers.bind_tester(wechatid)
    finally:
        wechat_reads.forget(mp, wechat_reads.TESTERS)
    existing = db.session.scalar(select(Tester).where(Tester.miniprogram_id == mp.id, Tester.userstr == userstr))
    if existing is None:
        db.session.add(Tester(miniprogram_id=mp.id, wechatid=wechatid, userstr=userstr,
                              created_by=getattr(actor, "id", None)))
    done("testers.bind", mp, actor, wechatid)
    return userstr


def unbind_tester(mp, actor, userstr):
    """/wxa/unbind_tester by userstr (works for testers bound outside the portal too)."""
    if not userstr or len(userstr) > 128:
        raise NotFound()
    try:
        with wechat_errors("testers.unbind", mp, actor):
            api(mp).testers.unbind_tester(userstr=userstr)
    finally:
        wechat_reads.forget(mp, wechat_reads.TESTERS)
    row = db.session.scalar(select(Tester).where(Tester.miniprogram_id == mp.id, Tester.userstr == userstr))
    detail = row.wechatid if row else userstr
    if row is not None:
        db.session.delete(row)
    done("testers.unbind", mp, actor, detail)
