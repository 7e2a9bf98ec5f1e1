"""The portal's application factory: `create_app` reads like a table of contents and holds no logic."""

import logging
import os

from flask import Flask

from config import Config

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def limiter_storage_uri(redis_url):
    """The rate limiter's storage for a REDIS_URL: the same server, spelled as the `limits` package wants a
    unix socket (``redis+unix://``, where redis-py says ``unix://``); in process memory without Redis."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def create_app(overrides=None):
    """Build a portal app; `overrides` (a dict) wins over the environment, as tests do."""
    # PORTAL_INSTANCE_PATH lets a second `make run` (or a test of it) keep its files apart
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or os.path.join(_ROOT, "instance")
    app = Flask(__name__, static_folder=os.path.join(_ROOT, "static"), instance_path=instance_path)
    app.config.from_object(Config)
    app.config.update(overrides or {})
    Config.check_production(app.config)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def configure_logging(app):
    from portal.logging_setup import setup_logging

    setup_logging(app)


def register_extensions(app):
    from portal.accounts.sessions import load_user
    from portal.coordination import init_app as init_coordination
    from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
    from portal.i18n import select_locale, select_timezone
    from portal.services.connections import end_session_quietly, engine_options, init_connections

    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    app.teardown_appcontext(end_session_quietly(db))  # registered after init_app: runs before its teardown
    migrate.init_app(app, db, directory=os.path.join(_ROOT, "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=os.path.join(app.root_path, "translations"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", None)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(app.config.get("REDIS_URL"))
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = None
    login_manager.user_loader(load_user)
    init_connections(app)
    init_coordination(app)


def register_blueprints(app):
    from portal.accounts import bp as accounts_bp
    from portal.authorization import bp as authorization_bp
    from portal.callbacks import bp as callbacks_bp
    from portal.dashboard import bp as dashboard_bp
    from portal.fleet import bp as fleet_bp
    from portal.library import bp as library_bp
    from portal.ops import bp as ops_bp
    from portal.platform import bp as platform_bp
    from portal.registrations import bp as registrations_bp
    from portal.releases import bp as releases_bp
    from portal.releases import staff_bp as releases_staff_bp
    from portal.tenants import bp as tenants_bp

    app.register_blueprint(dashboard_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(accounts_bp, url_prefix="/account")
    app.register_blueprint(tenants_bp, url_prefix="/staff/tenants")
    app.register_blueprint(platform_bp, url_prefix="/staff/platform")
    app.register_blueprint(authorization_bp, url_prefix="/authorization")
    app.register_blueprint(callbacks_bp, url_prefix="/wechat")
    app.register_blueprint(releases_bp, url_prefix="/miniprograms")
    app.register_blueprint(releases_staff_bp, url_prefix="/staff/code")
    app.register_blueprint(library_bp, url_prefix="/staff/library")
    app.register_blueprint(fleet_bp, url_prefix="/staff/fleet")
    app.register_blueprint(registrations_bp, url_prefix="/registrations")


def register_security(app):
    from portal.security import register

    register(app)


def register_errorhandlers(app):
    from portal.error_pages import register

    register(app)


def register_template_helpers(app):
    from portal.templating import register

    register(app)


def register_cli(app):
    from portal.cli import register

    register(app)


logging.getLogger(__name__).addHandler(logging.NullHandler())
