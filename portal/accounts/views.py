"""Views of the accounts blueprint: thin, each validates a form and calls one service."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts.forms import AcceptInvitationForm, LanguageForm, LoginForm, LogoutForm
from portal.errors import PortalError
from portal.extensions import limiter
from portal.services import accounts as accounts_service

bp = Blueprint("accounts", __name__, template_folder="templates")


def _safe_next(target):
    """Only same-site relative paths are followed after login (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return url_for("dashboard.home")
    return target


def _login_email_key():
    return "login-email:" + accounts_service.normalise_email(request.form.get("email", ""))[:254]


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message="login")
@limiter.limit(_login_limit, key_func=_login_email_key, methods=["POST"], error_message="login")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts_service.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong email or password, or the account is disabled."), "error")
            return render_template("accounts/login.html", form=form), 401
        lang = session.get("lang")
        session.clear()  # a fresh session on login (no fixation)
        if lang:  # a language picked on the login page becomes the user's choice
            session["lang"] = lang
            accounts_service.set_language(user, lang, current_app.config["LANGUAGES"])
        login_user(user)
        return redirect(_safe_next(form.next.data))
    return render_template("accounts/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    user = accounts_service.user_for_invitation(token)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = accounts_service.accept_invitation(token, form.password.data)
        except PortalError as exc:
            form.password.errors.append(exc.message)
        else:
            session.clear()
            login_user(user)
            flash(_("Welcome! Your password is set."), "success")
            return redirect(url_for("dashboard.home"))
    return render_template("accounts/invitation.html", form=form, invited=user), (
        400 if request.method == "POST" else 200
    )


@bp.route("/language", methods=["POST"])
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        languages = current_app.config["LANGUAGES"]
        session["lang"] = form.language.data
        accounts_service.set_language(current_user if current_user.is_authenticated else None,
                                      form.language.data, languages)
    return redirect(_safe_next(form.next.data or request.referrer and urlsplit(request.referrer).path))
