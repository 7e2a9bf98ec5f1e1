"""Security headers on every response, and production-only cookie and transport settings.

The Content-Security-Policy allows no inline script or style: pages load `static/` files only. Images may
also come from WeChat's CDNs (avatars, QR codes) over https, and from the configured WeChat API host
(the sandbox in development).

The header values are computed once per app (`security_headers`); the callback URLs, which bypass the
after-request hooks, add the same list.
"""

from urllib.parse import urlsplit

from config import Config


def _origin(url):
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(app):
    images = " ".join(filter(None, ["'self'", "data:", "https:", _origin(app.config.get("WECHAT_API_BASE"))]))
    # The authorization form's answer redirects to WeChat's authorization pages (PC and mobile), and
    # form-action governs the redirects that follow a form's submission.
    forms = " ".join(dict.fromkeys(filter(None, ["'self'", _origin(app.config.get("WECHAT_MP_BASE")),
                                                 _origin(app.config.get("WECHAT_OPEN_BASE"))])))
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", f"img-src {images}",
        "object-src 'none'", "base-uri 'self'", f"form-action {forms}", "frame-ancestors 'none'",
    ])


def _is_production(app):
    return Config.is_production(app.config)


def security_headers(app):
    """The (name, value) pairs every response gets unless it already sets that header."""
    headers = [
        ("Content-Security-Policy", content_security_policy(app)), ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
    ]
    if _is_production(app):
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def add_security_headers(headers, pairs):
    for name, value in pairs:
        if name not in headers:
            headers[name] = value


def trust_proxies(app):
    """Behind nginx (`TRUSTED_PROXY_HOPS=1`), the client's address and scheme come from X-Forwarded-For and
    -Proto, so the per-IP rate limits count clients rather than the proxy. Outermost, so the callback fast
    path sees them too."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register(app):
    trust_proxies(app)
    if _is_production(app):
        app.config.setdefault("SESSION_COOKIE_SECURE", True)
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    pairs = app.extensions["security_headers"] = security_headers(app)

    @app.after_request
    def set_security_headers(response):
        add_security_headers(response.headers, pairs)
        return response
