"""Authorized official accounts (公众号): the seeds' `wxuser` table plus what a multi-tenant portal needs.

The seed columns the seeds use keep their names and meanings: `type` (1 = an account authorized to the
platform, the rows the seed's `unauthorized` handler clears), `appid`, `authorizer_access_token`,
`authorizer_refresh_token` and `authorizer_expires`. The tokens hold AES-GCM ciphertext (portal.secretbox).
`authorizer_appid` is a synonym of `appid`, so the token store and the sync read both account kinds alike.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import synonym

from portal.extensions import db
from portal.models.miniprogram import AUTH_AUTHORIZED, AuthorizerState
from portal.models.mixins import TenantOwned, Timestamps
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow

TYPE_AUTHORIZED = 1  # seed: `where type = 1` picks the accounts authorized through the platform

# api_get_authorizer_info, 公众号类型 (service_type_info.id) and 公众号认证类型 (verify_type_info.id), in words.
SERVICE_TYPES = {0: _l("Subscription account (订阅号)"),
                 1: _l("Subscription account, upgraded from an old account (订阅号)"),
                 2: _l("Service account (服务号)")}
VERIFY_TYPES = {-1: _l("Not verified (未认证)"), 0: _l("WeChat verified (微信认证)"),
                1: _l("Sina Weibo verified (新浪微博认证)"),
                3: _l("Qualification verified, name not yet verified"),
                4: _l("Qualification verified, name not yet verified, Sina Weibo verified")}


class OfficialAccount(AuthorizerState, TenantOwned, Timestamps, db.Model):
    __tablename__ = "wxuser"

    id = db.Column(db.Integer, primary_key=True)
    uid = db.Column(db.Integer, index=True)  # the user who authorized it
    type = db.Column(db.SmallInteger, nullable=False, default=TYPE_AUTHORIZED)
    appid = db.Column(db.String(45), nullable=False, unique=True)
    authorizer_appid = synonym("appid")
    nick_name = db.Column(db.String(64))
    head_img = db.Column(db.String(512))
    user_name = db.Column(db.String(45))  # original id gh_...
    alias = db.Column(db.String(64))
    principal_name = db.Column(db.String(128))
    qrcode_url = db.Column(db.String(512))
    service_type_info = db.Column(db.SmallInteger)
    verify_type_info = db.Column(db.SmallInteger)
    business_info = db.Column(db.Text)
    func_info = db.Column(db.Text)
    _authorizer_access_token = db.Column("authorizer_access_token", SealedText)
    authorizer_access_token = Sealed(row_key="appid", lost_if_unreadable=True)
    authorizer_expires = db.Column(db.Integer)  # epoch seconds when the access token expires
    _authorizer_refresh_token = db.Column("authorizer_refresh_token", SealedText)
    authorizer_refresh_token = Sealed(row_key="appid", lost_if_unreadable=True)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow)  # 授权时间

    auth_state = db.Column(db.String(16), nullable=False, default=AUTH_AUTHORIZED, index=True)
    authorized_at = db.Column(db.DateTime)
    unauthorized_at = db.Column(db.DateTime)
    refresh_token_updated_at = db.Column(db.DateTime)
    token_refreshed_at = db.Column(db.DateTime)
    token_refresh_ok = db.Column(db.Boolean)
    token_refresh_result = db.Column(db.Text)  # JSON {errcode, lang: text}: why the last refresh failed

    tenant = db.relationship("Tenant")

    @property
    def display_name(self):
        return self.nick_name or self.appid

    @property
    def service_type_label(self):
        return _type_label(SERVICE_TYPES, self.service_type_info)

    @property
    def verify_type_label(self):
        return _type_label(VERIFY_TYPES, self.verify_type_info)

    def __repr__(self):
        return f"<OfficialAccount {self.id} {self.appid}>"


def _type_label(labels, value):
    """Words for a WeChat type id; an id the doc does not list is shown as a number."""
    if value is None:
        return "—"
    label = labels.get(value)
    return str(label) if label is not None else _l("Type %(id)s", id=value)
