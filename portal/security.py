"""Security headers on every response, and production-only cookie and transport settings.

The Content-Security-Policy allows no inline script or style: pages load `static/` files only. Images may
also come from WeChat's CDNs (avatars, QR codes) over https, and from the configured WeChat API host
(the sandbox in development).
"""

from urllib.parse import urlsplit


def _origin(url):
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(app):
    images = " ".join(filter(None, ["'self'", "data:", "https:", _origin(app.config.get("WECHAT_API_BASE"))]))
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", f"img-src {images}",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
    ])


def register(app):
    production = str(app.config.get("PORTAL_ENV", "")).lower() == "production"
    if production:
        app.config.setdefault("SESSION_COOKIE_SECURE", True)
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    policy = content_security_policy(app)

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
