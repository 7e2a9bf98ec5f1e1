"""All models, imported here so Alembic and the app see every table."""

from portal.models.activity import Activity
from portal.models.api_key import ApiKey
from portal.models.audit import Audit
from portal.models.authorizer_sync import AuthorizerSync, AuthorizerSyncFinding
from portal.models.callback import CallbackEvent
from portal.models.code_commit import CodeCommit
from portal.models.component import ComponentAccount
from portal.models.fleet import FleetRelease, FleetTarget
from portal.models.forwarding import ForwardDelivery, ForwardRule
from portal.models.job_run import JobRun
from portal.models.miniprogram import MiniProgram
from portal.models.official_account import OfficialAccount
from portal.models.preauth import PreAuthSession
from portal.models.registration import FastRegistration
from portal.models.setup import MiniProgramSetup
from portal.models.template import LibraryTemplate, MiniProgramParams
from portal.models.tenant import Tenant
from portal.models.tenant_settings import TenantSettings
from portal.models.tester import Tester
from portal.models.unclaimed import UnclaimedAuthorizer
from portal.models.user import User
from portal.models.wechat_call import WeChatCall

__all__ = [
    "Activity",
    "ApiKey",
    "Audit",
    "AuthorizerSync",
    "AuthorizerSyncFinding",
    "CallbackEvent",
    "CodeCommit",
    "ComponentAccount",
    "FastRegistration",
    "FleetRelease",
    "FleetTarget",
    "ForwardDelivery",
    "ForwardRule",
    "JobRun",
    "LibraryTemplate",
    "MiniProgram",
    "MiniProgramParams",
    "MiniProgramSetup",
    "OfficialAccount",
    "PreAuthSession",
    "Tenant",
    "TenantSettings",
    "Tester",
    "UnclaimedAuthorizer",
    "User",
    "WeChatCall",
]
