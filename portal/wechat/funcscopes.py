"""Names of the mini-program permission sets (func_info's ``funcscope_category.id``), in Chinese and English:
data only.

From WeChat's table 「小程序权限集」
(https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/product/miniprogram_authority.html,
its English version for the English names). An id the table does not hold is shown by its number. Imports
nothing but the standard library.
"""

from __future__ import annotations

FUNCSCOPES: dict[int, tuple[str, str]] = {
    17: ("获取小程序码", "Mini-program codes"),
    18: ("小程序开发与数据分析", "Development and data analysis"),
    19: ("小程序客服管理", "Customer-service messages"),
    25: ("开放平台账号管理", "Open Platform account binding"),
    30: ("小程序基本信息管理", "Basic information"),
    31: ("小程序认证名称检测", "Verification name check"),
    36: ("微信卡路里管理", "WeChat Calorie"),
    37: ("附近的小程序管理", "Nearby mini-programs"),
    40: ("小程序插件管理", "Plug-ins"),
    41: ("好物圈管理", "Haowuquan"),
    45: ("微信物流服务", "WeChat logistics"),
    48: ("微信财政电子票据管理", "Fiscal e-receipts"),
    49: ("小程序云开发管理", "Cloud development"),
    51: ("小程序即时配送", "Instant delivery"),
    52: ("小程序直播管理", "Live streaming"),
    65: ("小程序广告管理", "Advertising"),
    67: ("微信服务市场管理", "WeChat service market"),
    70: ("标准版交易组件商品管理", "Standard trade component: products"),
    71: ("标准版交易组件订单物流与售后管理", "Standard trade component: orders, logistics and after-sales"),
    73: ("标准版交易组件接入", "Standard trade component: onboarding"),
    76: ("小程序违规与交易投诉管理", "Violations and trade complaints"),
    81: ("试用小程序快速认证", "Fast verification of trial mini-programs"),
    84: ("标准版交易组件优惠券管理", "Standard trade component: coupons"),
    85: ("自定义版交易组件管理", "Custom trade component"),
}


def funcscope_name(funcscope_id: int, lang: str = "zh") -> str:
    """The permission set's name in ``lang`` ("zh", else English) with its id: "小程序开发与数据分析（18）"."""
    zh = str(lang).lower().startswith("zh")
    known = FUNCSCOPES.get(int(funcscope_id))
    if known is None:
        return f"权限集 {funcscope_id}" if zh else f"permission set {funcscope_id}"
    return f"{known[0]}（{funcscope_id}）" if zh else f"{known[1]} ({funcscope_id})"
