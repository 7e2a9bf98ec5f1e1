"""A faithful WeChat emulator for the portal's demo and tests ("test mode" for 微信开放平台·第三方平台).

It plays ``api.weixin.qq.com``, the authorization pages of ``mp.weixin.qq.com`` / ``open.weixin.qq.com``
and the pushes WeChat sends to a platform, all from one Flask app. It imports nothing from ``portal/``;
configuration (base URLs) is the only link. ``create_app(options)`` builds the app;
``sandbox.server.start_background`` runs it in a thread; ``python -m sandbox`` runs it from a shell.
"""

from __future__ import annotations

import logging

from flask import Flask

from .options import SandboxOptions
from .runtime import Sandbox

__all__ = ["create_app", "SandboxOptions", "Sandbox"]


def create_app(options: SandboxOptions | dict | None = None, **kwargs) -> Flask:
    """Build the sandbox app; options as a SandboxOptions, a dict, or keyword arguments."""
    if not isinstance(options, SandboxOptions):
        options = SandboxOptions.from_mapping(options, **kwargs)
    app = Flask(__name__)
    app.config.update(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=16 * 1024 * 1024)
    app.json.ensure_ascii = False
    sandbox = Sandbox(options)
    app.extensions["sandbox"] = sandbox
    from .views import register_views

    register_views(app)
    if options.demo:
        from .demo import install_demo

        install_demo(sandbox, options.demo_component)
    sandbox.start()
    if options.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app
