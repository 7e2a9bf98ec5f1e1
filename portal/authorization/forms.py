"""Forms of the authorization page."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import AnyOf

# Where the merchant goes once the pre-auth code exists: WeChat's page for a computer, the link for a phone
# (opened on the phone itself), or a page here with the QR code of that link (scanned with the phone).
TARGETS = ("pc", "mobile", "qr")


class StartForm(FlaskForm):
    """One click on the page: create a pre-auth code, then go to `target`."""

    target = StringField(validators=[AnyOf(TARGETS)])
