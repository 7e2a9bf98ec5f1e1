"""Callback parsing: each event type, dedup keys, generic fallback and malformed input."""

from __future__ import annotations

import dataclasses

import pytest

from portal.wechat.callbacks import (
    AuditDelayEvent,
    AuditFailEvent,
    AuditSuccessEvent,
    AuthorizedEvent,
    CategoryAuditEvent,
    FastRegisterEvent,
    GenericEvent,
    NicknameAuditEvent,
    PrivacyApplyEvent,
    TicketEvent,
    UnauthorizedEvent,
    UpdateAuthorizedEvent,
    parse_event,
)
from portal.wechat.crypto import MessageCrypto
from portal.wechat.errors import MalformedMessage

COMPONENT = "wx0000component01"
MP = "wxa1b2c3d4e5f60708"


def platform_xml(info_type, extra=""):
    return (f"<xml><AppId><![CDATA[{COMPONENT}]]></AppId><CreateTime>1700000000</CreateTime>"
            f"<InfoType><![CDATA[{info_type}]]></InfoType>{extra}</xml>")


def message_xml(event, extra=""):
    return ("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
            "<FromUserName><![CDATA[o_system]]></FromUserName><CreateTime>1700000100</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}</xml>")


def test_ticket():
    event = parse_event(platform_xml("component_verify_ticket",
                                     "<ComponentVerifyTicket><![CDATA[ticket@@@abc]]></ComponentVerifyTicket>"))
    assert isinstance(event, TicketEvent)
    assert (event.ticket, event.appid, event.create_time) == ("ticket@@@abc", COMPONENT, 1700000000)
    assert event.dedup_key == (COMPONENT, "component_verify_ticket", 1700000000)


@pytest.mark.parametrize("info_type,cls", [("authorized", AuthorizedEvent),
                                           ("updateauthorized", UpdateAuthorizedEvent)])
def test_authorized_and_updateauthorized(info_type, cls):
    event = parse_event(platform_xml(info_type, (
        f"<AuthorizerAppid>{MP}</AuthorizerAppid><AuthorizationCode>queryauthcode@@@x</AuthorizationCode>"
        "<AuthorizationCodeExpiredTime>1700003600</AuthorizationCodeExpiredTime>"
        "<PreAuthCode>preauthcode@@@y</PreAuthCode>")))
    assert type(event) is cls
    assert event.appid == event.authorizer_appid == MP
    assert event.component_appid == COMPONENT
    assert event.authorization_code == "queryauthcode@@@x"
    assert event.authorization_code_expired_time == 1700003600
    assert event.pre_auth_code == "preauthcode@@@y"
    assert event.dedup_key == (MP, info_type, 1700000000)


def test_unauthorized():
    event = parse_event(platform_xml("unauthorized", f"<AuthorizerAppid>{MP}</AuthorizerAppid>"))
    assert isinstance(event, UnauthorizedEvent)
    assert event.authorizer_appid == MP and event.dedup_key == (MP, "unauthorized", 1700000000)


def test_fast_register_enterprise_shape():
    event = parse_event(platform_xml("notify_third_fasteregister", (
        "<appid>wxnew0000000001</appid><status>0</status><auth_code>authcode</auth_code><msg>OK</msg>"
        "<info><name><![CDATA[某某科技有限公司]]></name><code>91110000000000000X</code><code_type>1</code_type>"
        "<legal_persona_wechat>legalwx</legal_persona_wechat><legal_persona_name>张三</legal_persona_name>"
        "<component_phone>13800000000</component_phone><taskid>t-1</taskid></info>")))
    assert isinstance(event, FastRegisterEvent)
    assert event.is_success and not event.is_personal
    assert event.appid == "wxnew0000000001" and event.auth_code == "authcode"
    assert event.info["name"] == "某某科技有限公司" and event.taskid == "t-1"


def test_fast_register_personal_failure_shape():
    event = parse_event(platform_xml("notify_third_fasteregister", (
        "<status>89251</status><msg>waiting</msg>"
        "<info><wxuser>personwx</wxuser><idname>李四</idname><component_phone>1</component_phone></info>")))
    assert event.is_personal and not event.is_success and event.status == 89251
    assert event.appid == COMPONENT  # no new appid on failure: keyed by the platform


def test_audit_events():
    ok = parse_event(message_xml("weapp_audit_success", "<SuccTime>1700000200</SuccTime>"), MP)
    assert isinstance(ok, AuditSuccessEvent) and ok.succ_time == 1700000200 and ok.appid == MP
    assert ok.to_user_name == "gh_0123456789ab"
    fail = parse_event(message_xml("weapp_audit_fail", (
        "<Reason><![CDATA[1:页面内容不完整<br>2:请补充测试账号]]></Reason><FailTime>1700000300</FailTime>"
        "<ScreenShot><![CDATA[media1|media2]]></ScreenShot>")), MP)
    assert isinstance(fail, AuditFailEvent)
    assert fail.screenshots == ("media1", "media2") and "<br>" in fail.reason and fail.fail_time == 1700000300
    delay = parse_event(message_xml("weapp_audit_delay", "<Reason>排队</Reason><DelayTime>1700000400</DelayTime>"),
                        MP)
    assert isinstance(delay, AuditDelayEvent) and delay.delay_time == 1700000400 and delay.reason == "排队"
    assert delay.dedup_key == (MP, "weapp_audit_delay", 1700000100)


def test_message_event_without_path_appid_uses_original_id():
    event = parse_event(message_xml("weapp_audit_success", "<SuccTime>1</SuccTime>"))
    assert event.appid == "gh_0123456789ab"


def test_generic_events_keep_all_fields():
    event = parse_event(message_xml("wxa_illegal_record", "<illegal_record_id>4</illegal_record_id>"), MP)
    assert isinstance(event, GenericEvent) and event.kind == "wxa_illegal_record"
    assert event.fields["illegal_record_id"] == "4" and event.fields["Event"] == "wxa_illegal_record"
    plat = parse_event(platform_xml("notify_icpfiling_verify_result", "<task_id>9</task_id>"))
    assert isinstance(plat, GenericEvent) and plat.appid == COMPONENT and plat.fields["task_id"] == "9"
    text = parse_event("<xml><ToUserName>gh_x</ToUserName><CreateTime>5</CreateTime>"
                       "<MsgType>text</MsgType><Content>hi</Content></xml>", MP)
    assert text.kind == "text" and text.fields["Content"] == "hi"


def test_setup_audit_results_are_parsed():
    name = parse_event(message_xml("wxa_nickname_audit", "<ret>3</ret><nickname>花间</nickname><reason></reason>"), MP)
    assert isinstance(name, NicknameAuditEvent) and name.approved and name.nickname == "花间"
    category = parse_event(message_xml("wxa_category_audit", "<ret>2</ret><first>1</first><second>2</second>"
                                                             "<reason>资质不清晰</reason>"), MP)
    assert isinstance(category, CategoryAuditEvent) and not category.approved
    assert (category.first, category.second, category.reason) == (1, 2, "资质不清晰")
    apply = parse_event(message_xml("wxa_privacy_apply", "<result_info><api_name>wx.getLocation</api_name>"
                                                         "<audit_id>42</audit_id><status>3</status></result_info>"), MP)
    assert isinstance(apply, PrivacyApplyEvent) and apply.approved and apply.api_name == "wx.getLocation"
    with pytest.raises(MalformedMessage):
        parse_event(message_xml("wxa_nickname_audit", "<nickname>花间</nickname>"), MP)  # no ret


def test_repeated_elements_become_lists():
    event = parse_event(platform_xml("something_new", "<item>a</item><item>b</item><item>c</item>"))
    assert event.fields["item"] == ["a", "b", "c"]


def test_events_are_frozen_and_hashable():
    event = parse_event(platform_xml("unauthorized", f"<AuthorizerAppid>{MP}</AuthorizerAppid>"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.appid = "other"  # type: ignore[misc]
    assert len({event, parse_event(platform_xml("unauthorized", f"<AuthorizerAppid>{MP}</AuthorizerAppid>"))}) == 1


@pytest.mark.parametrize("xml", [
    "<xml><InfoType>component_verify_ticket</InfoType></xml>",  # no CreateTime
    "<xml><CreateTime>soon</CreateTime><InfoType>unauthorized</InfoType></xml>",
    platform_xml("component_verify_ticket"),  # no ticket
    platform_xml("authorized", f"<AuthorizerAppid>{MP}</AuthorizerAppid>"),  # no code
    platform_xml("unauthorized"),
    platform_xml("notify_third_fasteregister", "<status>x</status>"),
    platform_xml("notify_third_fasteregister", "<status>0</status><info>text</info>"),
    "<xml><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>weapp_audit_success</Event></xml>",
    "<other><CreateTime>1</CreateTime></other>",
    "<xml><CreateTime>1</CreateTime>",
    "",
])
def test_malformed(xml):
    with pytest.raises(MalformedMessage):
        parse_event(xml)


def test_end_to_end_decrypt_then_parse():
    crypto = MessageCrypto("callbacktoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", COMPONENT)
    inner = platform_xml("component_verify_ticket", "<ComponentVerifyTicket>t-1</ComponentVerifyTicket>")
    encrypt = crypto.encrypt(inner)
    body = f"<xml><AppId>{COMPONENT}</AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    plain = crypto.decrypt_message(body, crypto.signature("1700000000", "42", encrypt), "1700000000", "42")
    assert parse_event(plain).ticket == "t-1"
