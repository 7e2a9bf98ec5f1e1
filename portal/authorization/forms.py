"""Forms of the authorization page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import AnyOf

from portal.form_choices import as_choices

# Where the merchant goes once the pre-auth code exists: WeChat's page for a computer, the link for a phone
# (opened on the phone itself), or a page here with the QR code of that link (scanned with the phone).
TARGETS = ("pc", "mobile", "qr")


class StartForm(FlaskForm):
    """One click on the page: create a pre-auth code, then go to `target`."""

    target = StringField(validators=[AnyOf(TARGETS)])
    # The kinds of account WeChat's page offers (services.authorization.AUTH_TYPES); a mini-program unless
    # the merchant picks another.
    account_kind = RadioField(_l("Account to authorize"), default="miniprogram", choices=as_choices([
        ("miniprogram", _l("Mini-program")), ("official_account", _l("Official account (公众号)")),
        ("both", _l("Either (WeChat’s page lists both kinds)"))]))
