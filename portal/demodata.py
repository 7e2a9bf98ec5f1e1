"""`make run`'s demo content: mini-programs in every state a merchant meets, a template library, a finished
fleet release and the pushes all of that caused, so no page of the demo opens empty.

Everything is made the way it happens in production: WeChat's side through the sandbox's control API
(accounts, authorizations, audit decisions, revocations whose push is lost, its clock), the portal's side through its own
services and the embedded job runner (authorization pushes, uploads, submissions, releases, the fleet
coordinator). No row is written here directly. Run by `portal.devrun` once the portal serves and the
sandbox has delivered its ticket; a mini-program the portal already has is left alone, so a second
`make run` adds nothing. Each demo tenant also gets an official account (公众号), made the same way. The
demo accounts the README tour authorizes (sandbox.demo) are not used here.

Imports services and models only (never views or jobs); it talks to the sandbox over HTTP only.
"""

import logging
import time

import requests
from sqlalchemy import select

from portal.errors import PortalError
from portal.extensions import db
from portal.models import MiniProgram, OfficialAccount, Tenant, User
from portal.models.fleet import FINAL, FleetRelease, FleetTarget
from portal.services import authorization, library, official_accounts, tenant_settings
from portal.services import code as code_service
from portal.services.fleet import coordinator
from portal.services.pushes import spool_drainer
from portal.services.wechat import get_client
from portal.wechat.errors import AuthorizationLost

log = logging.getLogger(__name__)

RELEASED, IN_REVIEW, REJECTED, UPLOADED, REVOKED = "released", "in_review", "rejected", "uploaded", "revoked"
# (tenant name in cli.DEMO_TENANTS, nick name, principal, state); names unlike the tour's demo accounts
DEMO_APPS = (
    ("示例餐饮有限公司", "老街面馆 Old Street Noodles", "老街餐饮有限公司", RELEASED),
    ("示例餐饮有限公司", "茶语时光 Tea Time", "茶语餐饮管理有限公司", IN_REVIEW),
    ("示例餐饮有限公司", "甜心烘焙 Sweetheart Bakery", "甜心食品有限公司", REJECTED),
    ("示例餐饮有限公司", "海鲜大排档 Seafood Stall", "海味餐饮有限公司", UPLOADED),
    ("示例餐饮有限公司", "夜宵铺子 Night Bites", "夜宵餐饮有限公司", REVOKED),
    ("Demo Retail Ltd.", "优选超市 Best Mart", "优选商贸有限公司", RELEASED),
    ("Demo Retail Ltd.", "潮鞋馆 Sneaker Hub", "潮流服饰有限公司", IN_REVIEW),
    ("Demo Retail Ltd.", "童趣玩具 Kids Toys", "童趣商贸有限公司", REJECTED),
    ("Demo Retail Ltd.", "数码之家 Digital Home", "数码科技有限公司", UPLOADED),
    ("Demo Retail Ltd.", "宠物乐园 Pet Paradise", "宠物用品有限公司", REVOKED),
)
# One official account (公众号) per demo tenant: (tenant, nick name, principal, service type, verification type),
# the types as api_get_authorizer_info gives them (2 服务号 / 0 订阅号; 0 微信认证 / -1 未认证).
DEMO_OFFICIAL_ACCOUNTS = (
    ("示例餐饮有限公司", "老街面馆服务号 Old Street Noodles OA", "老街餐饮有限公司", 2, 0),
    ("Demo Retail Ltd.", "优选超市订阅号 Best Mart News", "优选商贸有限公司", 0, -1),
)
REJECT_REASON = ("1:小程序“我的”页面存在未完成的功能入口，请完善后再提交审核。<br>"
                 "2:请在提审时补充测试账号和密码。")
DEMO_DOMAINS = {"requestdomain": ["api.demo.localhost"], "uploaddomain": ["api.demo.localhost"],
                "downloaddomain": ["cdn.demo.localhost"]}
DEMO_PRIVACY = {"owner_setting": {"contact_email": "privacy@example.com", "notice_method": "弹窗提示"},
                "texts": {"UserInfo": "用于展示会员头像和昵称"}}
FIRST_VERSION, FLEET_VERSION = "1.0.0", "1.1.0"
WAIT_SECONDS = 30


class Sandbox:
    """The few calls of the sandbox's control API the demo needs."""

    def __init__(self, base, component_appid):
        self.base, self.component_appid = base.rstrip("/"), component_appid
        self.http = requests.Session()

    def call(self, path, body=None, method="POST", **params):
        response = self.http.request(method, self.base + path, json=body, params=params or None, timeout=30)
        response.raise_for_status()
        return response.json()

    def accounts(self):
        return {a["nick_name"]: a["appid"] for a in self.call("/sandbox/miniprograms", method="GET")["miniprograms"]}

    def authorize(self, appid):
        self.call("/sandbox/authorize", {"component_appid": self.component_appid, "authorizer_appid": appid,
                                         "wait": True})

    def unauthorize(self, appid):
        self.call("/sandbox/unauthorize", {"component_appid": self.component_appid, "authorizer_appid": appid,
                                           "wait": True})

    def advance(self, seconds):
        self.call("/sandbox/clock", {"advance": seconds, "wait": True})
        self.call("/sandbox/pushes", method="GET", wait="1")


def seed(app, sandbox_url):
    """Load the demo content into `app` (see the module docstring); returns how many mini-programs it added.
    A failure is logged and leaves the rest of `make run` working."""
    if app.config.get("REDIS_URL"):  # the steps wait for jobs of this process; RQ workers are not
        log.warning("demo content skipped: it is made with the in-process job runner (REDIS_URL is set)")
        return 0
    sandbox = Sandbox(sandbox_url, app.config["WECHAT_COMPONENT_APPID"])
    with app.app_context():
        try:
            return _seed(app, sandbox)
        except (PortalError, requests.RequestException, LookupError) as exc:
            db.session.rollback()
            log.warning("demo data incomplete: %s", exc)
            return 0


def _seed(app, sandbox):
    _wait(app)  # the sandbox's ticket, answered before it was stored
    staff = db.session.scalar(select(User).where(User.role == "staff").order_by(User.id))
    tenants = {t.name: t for t in db.session.scalars(select(Tenant))}
    templates = {t.user_version: t.template_id for t in library.sync_templates(staff)}
    _official_accounts(app, sandbox, tenants, staff)
    known = set(db.session.scalars(select(MiniProgram.nick_name)))
    todo = [(tenants[t], name, principal, state) for t, name, principal, state in DEMO_APPS
            if t in tenants and name not in known]
    if not todo:
        return 0
    for tenant in {t.id: t for t, *_ in todo}.values():
        _tenant_settings(tenant, staff)
    apps = [(_authorized(app, sandbox, tenant, name, principal, staff), state) for tenant, name, principal, state
            in todo]
    for mp, state in apps:
        if state != REVOKED:
            code_service.request_commit(mp, _merchant(mp), templates[FIRST_VERSION], FIRST_VERSION, "首个版本")
    _wait(app)
    sandbox.advance(31)  # WeChat's privacy scan of each upload takes 30 s
    _submit(app, sandbox, [(mp, state) for mp, state in apps if state in (RELEASED, IN_REVIEW, REJECTED)])
    for mp in [mp for mp, state in apps if state == RELEASED]:
        code_service.request_release(mp, _merchant(mp))
    _wait(app)
    for mp, state in apps:
        if state == REVOKED:
            _revoked_unnoticed(sandbox, mp)
    _wait(app)
    released = [mp.id for mp, state in apps if state == RELEASED]
    if released and FLEET_VERSION in templates:
        _fleet(app, sandbox, templates[FLEET_VERSION], staff, released)
    return len(apps)


def _revoked_unnoticed(sandbox, mp):
    """The admin cancels the authorization in WeChat and its `unauthorized` push is lost on the way. The portal
    finds out at its next refresh of the app's token: WeChat refuses the refresh token (61023) and no longer
    lists the app in api_get_authorizer_list, so the app needs re-authorization."""
    appid = mp.authorizer_appid
    sandbox.call("/sandbox/faults", {"drop_pushes": True, "push_type": "unauthorized", "appid": appid, "count": 1})
    sandbox.unauthorize(appid)
    try:
        get_client().tokens.force_refresh_authorizer(appid)
    except AuthorizationLost:
        pass  # what the proactive refresher meets too: the app is marked, the refresh has nothing to store
    else:
        raise LookupError(f"WeChat still refreshed the token of {appid} after its authorization was cancelled")


def _tenant_settings(tenant, staff):
    settings = tenant_settings.get_settings(tenant.id)
    if settings.id is None or not settings.load("privacy", {}):
        tenant_settings.save_settings(tenant.id, staff, domains=DEMO_DOMAINS, privacy=DEMO_PRIVACY)


def _authorized(app, sandbox, tenant, name, principal, staff):
    """The account in WeChat (created once), authorized by its admin's scan: the push adds it to the
    portal, and staff assign it to its tenant."""
    appid = sandbox.accounts().get(name) or sandbox.call(
        "/sandbox/miniprograms", {"nick_name": name, "principal_name": principal})["appid"]
    sandbox.authorize(appid)
    mp = _until(app, lambda: db.session.scalar(select(MiniProgram).where(MiniProgram.authorizer_appid == appid)),
                f"the authorization of {name}")
    return authorization.transfer(mp.id, tenant.id, staff)


def _official_accounts(app, sandbox, tenants, staff):
    """Each demo tenant's official account, authorized by its admin's scan and assigned by staff, as the
    mini-programs are."""
    known = set(db.session.scalars(select(OfficialAccount.nick_name)))
    for tenant_name, name, principal, service_type, verify_type in DEMO_OFFICIAL_ACCOUNTS:
        if tenant_name not in tenants or name in known:
            continue
        appid = sandbox.accounts().get(name) or sandbox.call("/sandbox/miniprograms", {
            "nick_name": name, "principal_name": principal, "account_type": "official_account",
            "service_type": service_type, "verify_type": verify_type})["appid"]
        sandbox.authorize(appid)
        oa = _until(app, lambda appid=appid: db.session.scalar(
            select(OfficialAccount).where(OfficialAccount.appid == appid)), f"the authorization of {name}")
        official_accounts.transfer(oa.id, tenants[tenant_name].id, staff)


def _submit(app, sandbox, apps):
    """Submit each for audit; then WeChat's reviewers decide: approve, reject with a reason, or take a week."""
    for mp, state in apps:
        if state == IN_REVIEW:
            sandbox.call("/sandbox/audits/decide", {"appid": mp.authorizer_appid,
                                                    "rule": {"outcome": "approve", "delay": 7 * 86400}})
    form = {"item_list": [], "version_desc": "演示版本，无需登录。", "feedback_info": "", "ugc_declare": None,
            "privacy_api_not_use": False}
    for mp, _state in apps:
        code_service.request_submit(mp, _merchant(mp), form)
    _wait(app)
    for mp, state in apps:
        if state in (RELEASED, REJECTED):
            outcome = {"outcome": "approve"} if state == RELEASED else {"outcome": "reject", "reason": REJECT_REASON}
            sandbox.call("/sandbox/audits/decide", {"appid": mp.authorizer_appid, "wait": True, **outcome})
    _wait(app)


def _fleet(app, sandbox, template_id, staff, mp_ids):
    """Staff release the next template version to the released apps, run to its end: the coordinator ticks,
    and the sandbox clock moves on whenever every app only waits for WeChat (scan, review)."""
    if db.session.scalar(select(FleetRelease.id).limit(1)) is not None:
        return
    release = coordinator.start_fleet_release(template_id, staff, {"mode": "list", "miniprogram_ids": mp_ids},
                                              {"max_concurrency": 5, "version_desc": "演示版本，无需登录。"},
                                              FLEET_VERSION, "新增会员页")
    release_id = release.id

    def finished():
        coordinator.tick(release_id)
        _wait(app)
        db.session.commit()  # a fresh snapshot of what the jobs wrote
        states = list(db.session.scalars(select(FleetTarget.state).where(FleetTarget.release_id == release_id)))
        if all(s in FINAL for s in states):
            return True
        sandbox.advance(61)  # scans end, reviewers approve, results are pushed
        return False

    _until(app, finished, "the fleet release", seconds=WAIT_SECONDS * 2)


def _merchant(mp):
    return db.session.scalar(select(User).where(User.tenant_id == mp.tenant_id).order_by(User.id))


def _wait(app):
    """Until the pushes answered so far are stored and the jobs started so far have ended (embedded: threads
    of this process), then a fresh snapshot."""
    spool_drainer.wait_until_drained(app, timeout=WAIT_SECONDS)
    app.extensions["coordination"].wait_until_idle(timeout=WAIT_SECONDS)
    db.session.commit()


def _until(app, condition, what, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while True:
        db.session.commit()
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise LookupError(f"{what} did not happen within {seconds} s")
        _wait(app)
        time.sleep(0.1)
