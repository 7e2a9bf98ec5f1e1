"""Plain-language meanings of WeChat errcodes, in Chinese and English: data only.

Each entry maps an errcode to ``(zh, en)``: what went wrong and what to do about it, written for the
operator or merchant reading the portal, not for a developer. `describe()` picks one language and falls
back to a generic sentence that still shows the code and WeChat's own errmsg. This module imports nothing
but the standard library and must stay free of logic beyond that lookup (the exception classes live in
`errors.py`; which class a code raises is decided there, not here).
"""

from __future__ import annotations

ERRCODES: dict[int, tuple[str, str]] = {
    -1: ("微信系统繁忙，请稍后重试。", "WeChat is busy. Try again in a moment."),
    40001: (
        "接口调用凭证（access_token）无效或已过期，系统会自动刷新；若反复出现，请检查是否有其他服务在刷新同一令牌。",
        "The access token is invalid or expired. It is refreshed automatically; if this keeps happening, "
        "check whether another service refreshes the same token.",
    ),
    40013: (
        "AppID 无效，请检查第三方平台或小程序的 AppID 配置。",
        "The AppID is invalid. Check the platform or mini-program AppID in the settings.",
    ),
    40014: (
        "access_token 格式不正确，系统会自动重新获取。",
        "The access token is malformed. A new one is fetched automatically.",
    ),
    40097: (
        "请求参数有误，请检查填写的内容（例如小程序码的 scene 或 page）。",
        "Invalid request parameters. Check the values you entered (for example the QR code's scene or page).",
    ),
    40125: (
        "AppSecret 无效，请在开放平台核对第三方平台的 AppSecret 并更新配置。",
        "The AppSecret is invalid. Check the platform's AppSecret on the Open Platform and update the settings.",
    ),
    40164: (
        "调用方 IP 不在白名单中，请在微信后台把服务器出口 IP 加入 IP 白名单。",
        "The calling IP is not whitelisted. Add the server's outgoing IP to the IP whitelist in WeChat.",
    ),
    40169: (
        "小程序码的 scene 长度不对：必须填写，且最多 32 个字符。",
        "The QR code's scene has the wrong length: it is required and may hold at most 32 characters.",
    ),
    41001: (
        "缺少 access_token 参数，系统会重新获取凭证；若反复出现，请检查令牌服务。",
        "The access token is missing. A token is fetched again; if this keeps happening, check the token service.",
    ),
    41002: (
        "请求缺少 component_appid，请检查第三方平台的 AppID 配置。",
        "The request lacks the component_appid. Check the platform's AppID setting.",
    ),
    41030: (
        "页面路径不存在或尚未发布，请填写已发布版本中的页面，或关闭路径校验。",
        "The page does not exist or is not released yet. Use a page from the released version, "
        "or turn off the path check.",
    ),
    42001: (
        "access_token 已过期，系统会自动刷新。",
        "The access token has expired. It is refreshed automatically.",
    ),
    43001: ("该接口需要 GET 请求（门户的调用方式有误，请联系平台技术人员）。",
            "This API needs a GET request (the portal called it wrongly; contact the platform's engineers)."),
    43002: ("该接口需要 POST 请求（门户的调用方式有误，请联系平台技术人员）。",
            "This API needs a POST request (the portal called it wrongly; contact the platform's engineers)."),
    44002: ("请求体为空，请补全提交的内容。", "The request body is empty. Fill in the required data."),
    45009: (
        "接口调用次数已达今日上限，请明天再试，或使用“清空调用次数”（每月 10 次）。",
        "The daily call limit for this API is reached. Try tomorrow or use \"clear quota\" (10 times a month).",
    ),
    45011: ("接口调用过于频繁，请稍后再试。", "Calls are too frequent. Wait a moment and try again."),
    47001: (
        "请求数据格式错误（不是合法的 JSON，或 ext_json 未以字符串提交）。",
        "The request data is malformed (not valid JSON, or ext_json was not sent as a string).",
    ),
    48001: (
        "第三方平台没有该接口的权限，请让商家在授权时勾选对应的权限集，然后重新授权。",
        "The platform has no permission for this API. Ask the merchant to grant the needed permission set "
        "and authorize again.",
    ),
    48004: ("该接口已被封禁，请在微信后台查看原因。", "This API is banned for the account. See WeChat's console for why."),
    48006: (
        "本月清空调用次数的机会（10 次）已用完，请下月再试。",
        "The 10 quota resets for this month are used up. Try again next month.",
    ),
    61003: (
        "该账号未授权给本第三方平台，或授权已取消，请让商家重新授权。",
        "This account has not authorized the platform, or revoked it. Ask the merchant to authorize again.",
    ),
    61004: (
        "服务器 IP 不在第三方平台的白名单中，请在开放平台的“白名单 IP 地址”中添加。",
        "The server's IP is not in the platform's IP whitelist. Add it on the Open Platform.",
    ),
    61005: (
        "component_verify_ticket 已过期，请等待微信下次推送（每 10 分钟），或重新启动票据推送。",
        "The component verify ticket expired. Wait for the next push (every 10 minutes) or restart ticket pushes.",
    ),
    61006: (
        "component_verify_ticket 无效，请确认回调地址能正常接收并保存票据。",
        "The component verify ticket is invalid. Make sure the callback URL receives and stores tickets.",
    ),
    61007: (
        "该接口未授权给第三方平台，请让商家在授权时勾选对应权限集。",
        "This API is not authorized to the platform. Ask the merchant to grant the needed permission set.",
    ),
    61009: (
        "授权码无效或已使用（授权码只能使用一次），请重新扫码授权。",
        "The authorization code is invalid or already used (a code works once). Please authorize again.",
    ),
    61010: (
        "授权码已过期，请让商家重新扫码授权或更新授权后再试。",
        "The authorization code expired. Ask the merchant to authorize again (or update the authorization).",
    ),
    61023: (
        "授权刷新令牌失效，系统将从授权列表恢复；若仍失败，请让商家重新授权。",
        "The authorizer refresh token is invalid. It will be recovered from the authorizer list; if that fails, "
        "ask the merchant to authorize again.",
    ),
    61039: (
        "代码隐私检测尚未完成，请稍等几分钟后再提交审核（不要重新上传代码）。",
        "The privacy scan of the uploaded code is not finished. Wait a few minutes before submitting "
        "(do not upload the code again).",
    ),
    61040: (
        "代码使用的地理位置接口未在 ext.json 的 requiredPrivateInfos 中声明，或小程序没有该接口的权限：请声明并申请权限；"
        "若代码并不使用这些接口，提交审核时声明不使用（privacy_api_not_use）。",
        "The code uses a location API that requiredPrivateInfos in ext.json does not declare, or that the "
        "mini-program has no permission for: declare it and apply for the permission, or, if the code does not "
        "really use it, declare it unused when submitting (privacy_api_not_use).",
    ),
    61070: (
        "法人姓名与法人微信号实名信息不一致，请核对后重新提交。",
        "The legal representative's name does not match the WeChat ID's real name. Check and submit again.",
    ),
    85001: (
        "微信号不存在或不支持搜索，请确认微信号并在隐私设置中允许通过微信号搜索。",
        "The WeChat ID does not exist or cannot be searched. Check the ID and allow search by WeChat ID.",
    ),
    85002: ("小程序的体验者数量已达上限，请先解绑不需要的体验者。", "The tester limit is reached. Remove unused testers first."),
    85003: (
        "该微信号绑定的小程序体验者数量已达上限。",
        "This WeChat ID is already a tester of too many mini-programs.",
    ),
    85004: ("该微信号已经是体验者。", "This WeChat ID is already a tester."),
    85009: (
        "已有版本正在审核中，请等待审核结果或撤回后再提交。",
        "A version is already under review. Wait for the result or withdraw it before submitting again.",
    ),
    85012: ("审核单号（auditid）无效。", "The audit ID is invalid."),
    85013: (
        "ext_json 中的自定义配置无效，请检查模板配置。",
        "The custom configuration in ext_json is invalid. Check the template configuration.",
    ),
    85014: (
        "模板不存在，请确认模板 ID 正确（需为数字）且仍在模板库中。",
        "The template does not exist. Check that the template ID is correct (a number) and still in the library.",
    ),
    85015: (
        "该账号不是小程序，无法使用此接口。",
        "This account is not a mini-program, so this API cannot be used.",
    ),
    85016: ("域名数量超过上限。", "Too many domains."),
    85017: (
        "没有可修改的域名：域名未在第三方平台登记，或与现有设置相同。请先在开放平台添加域名。",
        "No domain left to change: the domain is not registered on the platform, or nothing is new. "
        "Register it on the Open Platform first.",
    ),
    85018: (
        "域名尚未在第三方平台设置，请先在开放平台添加。",
        "The domain is not set on the platform yet. Add it on the Open Platform first.",
    ),
    85019: ("没有审核通过的版本，无法发布。", "There is no approved version to release."),
    85020: (
        "当前状态不允许此操作（例如审核通过后又上传了新代码），请刷新版本状态后再试。",
        "The current status does not allow this (for example new code was uploaded after approval). "
        "Refresh the version status and try again.",
    ),
    85043: ("模板错误，请检查模板内容。", "The template is faulty. Check the template."),
    85044: ("代码包超过大小限制。", "The code package is too large."),
    85045: ("ext_json 中的页面路径不存在。", "A page path in ext_json does not exist."),
    85046: ("tabBar 中缺少页面路径。", "A tabBar page path is missing."),
    85047: ("页面列表（pages）为空。", "The page list (pages) is empty."),
    85048: ("ext.json 解析失败，请检查 JSON 格式。", "ext.json could not be parsed. Check the JSON format."),
    85052: ("该版本已经发布。", "This version is already released."),
    85064: ("找不到草稿或模板，请刷新列表后再试。", "The draft or template was not found. Refresh the list and try again."),
    85065: (
        "模板库已满（普通模板和标准模板各 200 个），请先删除不用的模板。",
        "The template library is full (200 normal and 200 standard). Delete unused templates first.",
    ),
    85077: (
        "小程序类目无效或尚未审核通过，请检查提审填写的类目。",
        "The category is invalid or not approved yet. Check the category used for the review.",
    ),
    85079: (
        "小程序还没有线上版本，不能分阶段发布。",
        "The mini-program has no live version yet, so it cannot be released in phases.",
    ),
    85080: (
        "提交的审核还没有通过，不能分阶段发布。",
        "The submitted version is not approved yet, so it cannot be released in phases.",
    ),
    85081: (
        "分阶段发布的比例无效：须为 0 到 100 的整数，填 0 时须选择优先发布给项目成员或体验成员。",
        "Invalid phased-release percentage: it must be a whole number from 0 to 100, and 0 needs project "
        "members or testers to go first.",
    ),
    85082: (
        "分阶段发布的比例必须比之前设置的更高。",
        "The phased-release percentage must be higher than the one set before.",
    ),
    85085: (
        "本月提交审核的次数已用完，请下月再试（可在“查询配额”查看剩余次数）。",
        "This month's review submissions are used up. Try next month (see the remaining quota).",
    ),
    85086: ("请先上传代码再提交审核。", "Upload code before submitting it for review."),
    85087: (
        "代码使用了 navigateToMiniProgram，请在配置中声明要跳转的小程序 AppID。",
        "The code uses navigateToMiniProgram. Declare the target mini-program AppIDs in the configuration.",
    ),
    85301: (
        "没有可修改的域名，或域名不符合规则，请检查域名格式并先在第三方平台登记。",
        "No domain left to change, or the domain breaks the rules. Check its format and register it on the "
        "platform first.",
    ),
    86000: ("该操作只能由第三方平台调用。", "Only the third-party platform can do this."),
    86001: ("没有由第三方平台提交的代码。", "There is no code submitted by the third-party platform."),
    86002: (
        "小程序还没有设置名称、头像或简介，请先在微信公众平台（mp.weixin.qq.com）“设置 - 基本设置”中补全后再提交审核。",
        "The mini-program has no name, avatar or description yet. Set them in the WeChat admin console "
        "(mp.weixin.qq.com, Settings → Basic settings), then submit again.",
    ),
    86004: ("微信号无效，请核对法人微信号。", "The WeChat ID is invalid. Check the legal representative's WeChat ID."),
    86069: (
        "隐私保护指引缺少必填的开发者信息：请至少填写一种联系方式（邮箱、手机、QQ 或微信号），并填写通知方式。",
        "The privacy guideline lacks required developer details: give at least one contact (email, phone, QQ "
        "or WeChat ID) and the notice method.",
    ),
    86074: (
        "线上版本还没有隐私保护指引，请先设置开发版本的隐私指引并发布。",
        "The live version has no privacy guideline yet. Set the development version's guideline and release it.",
    ),
    86102: (
        "本月修改服务器域名的次数已用完（微信每月允许 50 次），请下月再改。",
        "This month's server-domain changes are used up (WeChat allows 50 a month). Change them next month.",
    ),
    87013: (
        "撤回审核的次数已达上限（每天 5 次、每月 10 次）。",
        "The withdraw limit is reached (5 a day, 10 a month).",
    ),
    89019: ("业务域名没有变化。", "The business (web-view) domains did not change."),
    89020: ("尚未设置业务域名。", "No business (web-view) domain is set yet."),
    89021: (
        "该域名不是第三方平台的业务域名或其子域名，请先在开放平台登记。",
        "The domain is not one of the platform's business domains or their subdomains. Register it first.",
    ),
    89029: ("业务域名数量超过上限。", "Too many business (web-view) domains."),
    89231: ("个人小程序不支持设置业务域名。", "Personal mini-programs cannot set business (web-view) domains."),
    89247: ("微信内部错误，请稍后重试。", "WeChat had an internal error. Try again later."),
    89248: ("企业代码类型无效，请选择正确的证件类型。", "The company code type is invalid. Choose the right document type."),
    89249: (
        "该主体已有任务执行中，请在 24 小时后再试。",
        "A registration task for this company is already running. Try again after 24 hours.",
    ),
    89250: ("找不到该注册任务。", "The registration task was not found."),
    89251: ("等待法人完成人脸核验。", "Waiting for the legal representative's face verification."),
    89252: ("法人及企业信息正在核验中。", "The legal representative and company details are being checked."),
    89253: ("缺少必填参数，请补全后再提交。", "Required details are missing. Complete them and submit again."),
    89254: (
        "第三方平台缺少所需权限集，请在开放平台申请。",
        "The platform lacks the required permission sets. Apply for them on the Open Platform.",
    ),
    89255: (
        "企业代码无效：请检查代码的长度和内容，统一社会信用代码为 18 位，组织机构代码为 9 位（xxxxxxxx-x），"
        "营业执照注册号为 15 位。",
        "The company code is invalid: check its length and content. A unified social credit code has 18 "
        "characters, an organization code 9 (xxxxxxxx-x), a business licence number 15.",
    ),
    89401: ("微信系统不稳定，请稍后再试。", "WeChat is unstable right now. Try again later."),
    89402: (
        "该审核单不在待审核队列（可能尚未提交或已审完），无法加急。",
        "This audit is not waiting in the review queue (not submitted or already decided), so it cannot be "
        "sped up.",
    ),
    89403: (
        "该审核单属于不支持加急的类型，请等待正常审核。",
        "This kind of review cannot be sped up. Wait for the normal review.",
    ),
    89404: ("该审核单已经加急过，无需重复申请。", "This audit was already sped up; there is no need to ask again."),
    89405: (
        "本月的加急次数已用完（所有小程序共用），请下月再试。",
        "This month's speed-ups are used up (shared by all mini-programs). Try next month.",
    ),
    9402203: (
        "标准模板的 ext_json 只能包含 extAppid、ext 和 window，不能带 extEnable、requiredPrivateInfos 等其他配置。",
        "A standard template's ext_json may hold only extAppid, ext and window, not extEnable, "
        "requiredPrivateInfos or any other key.",
    ),
}

# The non-zero `status` of a notify_third_fasteregister push: why WeChat did not create the mini-program.
# 1001-1008 are the codes WeChat's staff listed for this push (and the personal-registration page's status
# enum); -1 comes with msg "authorize third party failed".
FAST_REGISTER_STATUSES: dict[int, tuple[str, str]] = {
    -1: ("小程序已创建但未能授权给第三方平台，请联系平台处理。",
         "The mini-program could not be authorized to the platform. Ask the platform staff."),
    1001: ("该主体创建的小程序数量已达上限。", "This company or person has reached the number of mini-programs allowed."),
    1002: ("该主体因违规被列入黑名单，无法注册。", "This company or person is blacklisted for violations."),
    1003: ("管理员绑定的帐号数量已达上限。", "The administrator is bound to as many accounts as allowed."),
    1004: ("管理员因违规被列入黑名单。", "The administrator is blacklisted for violations."),
    1005: ("管理员手机号绑定的帐号数量已达上限。", "The administrator's phone number is bound to as many accounts "
           "as allowed."),
    1006: ("管理员手机号因违规被列入黑名单。", "The administrator's phone number is blacklisted for violations."),
    1007: ("管理员身份证创建的帐号数量已达上限。", "The administrator's ID card has created as many accounts as "
           "allowed."),
    1008: ("管理员身份证因违规被列入黑名单。", "The administrator's ID card is blacklisted for violations."),
}
# fastregisterpersonalweapp's status enum (query's answer): the values that end a task without a mini-program.
PERSONAL_TASK_FAILURES: dict[int, tuple[str, str]] = {
    1: ("任务已超时（24 小时内未完成验证）。", "The task expired (not completed within 24 hours)."),
    2: ("用户拒绝了创建。", "The person refused the registration."),
    5: ("人脸认证失败。", "The face check failed."),
    8: ("手机验证失败。", "The phone check failed."),
    11: ("创建失败。", "WeChat failed to create the mini-program."),
    14: ("验证失败。", "The verification failed."),
}
FAST_REGISTER_GENERIC: tuple[str, str] = ("微信未能创建小程序（状态 {code}：{errmsg}）。",
                                          "WeChat did not create the mini-program (status {code}: {errmsg}).")

GENERIC: tuple[str, str] = (
    "微信返回错误 {code}：{errmsg}",
    "WeChat returned error {code}: {errmsg}",
)
TRANSPORT: tuple[str, str] = (
    "无法连接微信服务器，请稍后重试。",
    "Could not reach WeChat. Try again later.",
)
MAYBE_SENT: tuple[str, str] = (
    "请求可能已到达微信，但未收到应答。请先查看当前状态，确认未生效后再重试。",
    "The request may have reached WeChat, but its answer was lost. Check the current state before trying "
    "again.",
)


def describe(errcode: int | None, lang: str = "zh", errmsg: str | None = None) -> str:
    """Return the plain-language meaning of ``errcode`` in ``lang`` ("zh" or "en"; others fall back to "en").

    Unknown codes get a generic sentence that shows the code and WeChat's errmsg; ``None`` (no answer from
    WeChat at all) gets the transport sentence.
    """
    index = 0 if str(lang).lower().startswith("zh") else 1
    if errcode is None:
        return TRANSPORT[index]
    known = ERRCODES.get(errcode)
    if known is not None:
        return known[index]
    return GENERIC[index].format(code=errcode, errmsg=errmsg or "-")


def is_failed_personal_task(status) -> bool:
    """Whether a personal task's ``status`` (query's answer) means it ended without a mini-program."""
    return status in PERSONAL_TASK_FAILURES or status in FAST_REGISTER_STATUSES


def describe_fast_register_status(status: int, lang: str = "zh", msg: str | None = None,
                                  personal: bool = False) -> str:
    """The plain-language reason of a failed fast registration: a push's non-zero ``status``, or (``personal``)
    the status a personal task's query answered."""
    index = 0 if str(lang).lower().startswith("zh") else 1
    known = FAST_REGISTER_STATUSES.get(status) or (PERSONAL_TASK_FAILURES.get(status) if personal else None)
    if known is not None:
        return known[index]
    return FAST_REGISTER_GENERIC[index].format(code=status, errmsg=msg or "-")
