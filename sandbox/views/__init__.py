"""HTTP views of the sandbox, one module per WeChat API family plus the control API and pages.

``register_views`` attaches every blueprint to the app; all paths live on one app so the API host
(``api.weixin.qq.com``), the authorization pages (``mp``/``open.weixin.qq.com``) and the control API can
share one server. Views are thin: they parse input and call the service modules.
"""

from __future__ import annotations


def register_views(app) -> None:
    from . import (
        audit,
        authpage,
        code,
        component,
        control,
        dashboard,
        domains,
        privacy,
        receivers,
        release,
        setup,
        templates,
    )

    for module in (component, authpage, domains, code, audit, release, privacy, setup, templates, control,
                   receivers, dashboard):
        app.register_blueprint(module.bp)
    app.register_blueprint(setup.control_bp)
