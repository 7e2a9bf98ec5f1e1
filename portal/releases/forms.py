"""Forms of the code-management pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.form_choices import as_choices

VERSION_RE = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$"
SERVER_KINDS = (
    ("requestdomain", _l("request (https)")), ("wsrequestdomain", _l("socket (wss)")),
    ("uploaddomain", _l("uploadFile (https)")), ("downloaddomain", _l("downloadFile (https)")),
    ("udpdomain", _l("UDP (udp)")), ("tcpdomain", _l("TCP (tcp)")),
)
ACTIONS = [("add", _l("Add")), ("delete", _l("Delete")), ("set", _l("Replace all with"))]


class UploadForm(FlaskForm):
    template_id = SelectField(_l("Template"), coerce=int, validators=[DataRequired()])
    user_version = StringField(_l("Version"), validators=[
        DataRequired(), Length(max=64),
        Regexp(VERSION_RE, message=_l("Use 1-64 letters, digits, “.”, “-” or “_”, e.g. 1.2.0."))])
    user_desc = StringField(_l("Description"), validators=[Optional(), Length(max=255)])


class QRForm(FlaskForm):
    class Meta:
        csrf = False

    path = StringField(_l("Page path (optional)"), validators=[Optional(), Length(max=256)])


class ServerDomainForm(FlaskForm):
    action = SelectField(_l("Action"), choices=as_choices(ACTIONS))
    requestdomain = TextAreaField(SERVER_KINDS[0][1], validators=[Length(max=4000)])
    wsrequestdomain = TextAreaField(SERVER_KINDS[1][1], validators=[Length(max=4000)])
    uploaddomain = TextAreaField(SERVER_KINDS[2][1], validators=[Length(max=4000)])
    downloaddomain = TextAreaField(SERVER_KINDS[3][1], validators=[Length(max=4000)])
    udpdomain = TextAreaField(SERVER_KINDS[4][1], validators=[Length(max=4000)])
    tcpdomain = TextAreaField(SERVER_KINDS[5][1], validators=[Length(max=4000)])


class WebviewDomainForm(FlaskForm):
    action = SelectField(_l("Action"), choices=as_choices(ACTIONS))
    webviewdomain = TextAreaField(_l("Business domains (web-view)"), validators=[Length(max=4000)])


class TesterForm(FlaskForm):
    wechatid = StringField(_l("WeChat id"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$",
               message=_l("A WeChat id has 6-20 letters, digits, “-” or “_” and starts with a letter."))])


class UnbindForm(FlaskForm):
    userstr = HiddenField(validators=[DataRequired(), Length(max=128)])


class ItemForm(FlaskForm):
    class Meta:
        csrf = False

    address = SelectField(_l("Page"), validate_choice=False, validators=[Optional()])
    category = SelectField(_l("Category"), validate_choice=False, validators=[Optional()])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=32)])
    tag = StringField(_l("Tags (space-separated)"), validators=[Optional(), Length(max=200)])


class SubmitAuditForm(FlaskForm):
    items = FieldList(FormField(ItemForm), min_entries=1, max_entries=5)
    version_desc = TextAreaField(_l("Notes for the reviewers (test account, password…)"),
                                 validators=[Optional(), Length(max=1000)])
    feedback_info = TextAreaField(_l("Reply to the last rejection"), validators=[Optional(), Length(max=200)])
    ugc_scene = SelectMultipleField(_l("User-generated content"), coerce=int, choices=as_choices([
        (1, _l("User profiles")), (2, _l("Pictures")), (3, _l("Videos")), (4, _l("Text")), (5, _l("Other"))]))
    ugc_method = SelectMultipleField(_l("How it is moderated"), coerce=int, choices=as_choices([
        (1, _l("WeChat content-security API")), (2, _l("Another product")), (3, _l("Manual review"))]))
    has_audit_team = BooleanField(_l("We have a moderation team"))
    audit_desc = StringField(_l("Moderation details"), validators=[Optional(), Length(max=200)])
    privacy_api_not_use = BooleanField(
        _l("The code does not call the location APIs WeChat found undeclared (privacy_api_not_use)"))


class ConfirmForm(FlaskForm):
    """A button that only needs CSRF."""


class RevertForm(FlaskForm):
    app_version = IntegerField(_l("Version to go back to (empty = the previous one)"), validators=[Optional()])


class GrayForm(FlaskForm):
    percentage = IntegerField(_l("Percentage of users"), validators=[DataRequired(), NumberRange(1, 100)])
    debuger_first = BooleanField(_l("Developers get it first"))
    experiencer_first = BooleanField(_l("Testers get it first"))


class VisitForm(FlaskForm):
    action = SelectField(_l("Visitors"), choices=as_choices([("open", _l("Open")), ("close", _l("Close"))]))


class SettingsForm(FlaskForm):
    ext_params = TextAreaField(_l("ext.json parameters (key=value, one a line)"), validators=[Length(max=8000)])
    required_private_infos = StringField(_l("requiredPrivateInfos (comma-separated, e.g. getLocation)"),
                                         validators=[Optional(), Length(max=500)])
    requestdomain = TextAreaField(SERVER_KINDS[0][1], validators=[Length(max=4000)])
    wsrequestdomain = TextAreaField(SERVER_KINDS[1][1], validators=[Length(max=4000)])
    uploaddomain = TextAreaField(SERVER_KINDS[2][1], validators=[Length(max=4000)])
    downloaddomain = TextAreaField(SERVER_KINDS[3][1], validators=[Length(max=4000)])
    udpdomain = TextAreaField(SERVER_KINDS[4][1], validators=[Length(max=4000)])
    tcpdomain = TextAreaField(SERVER_KINDS[5][1], validators=[Length(max=4000)])
    webviewdomain = TextAreaField(_l("Business domains (web-view)"), validators=[Length(max=4000)])
    contact_email = StringField(_l("Privacy contact e-mail"), validators=[Optional(), Length(max=254)])
    contact_phone = StringField(_l("Privacy contact phone"), validators=[Optional(), Length(max=40)])
    contact_weixin = StringField(_l("Privacy contact WeChat id"), validators=[Optional(), Length(max=64)])
    notice_method = StringField(_l("How users are notified (e.g. pop-up window)"),
                                validators=[Optional(), Length(max=200)])
    privacy_texts = TextAreaField(_l("Why each privacy feature is used (Key=text, one a line, e.g. "
                                     "Location=to show nearby shops)"), validators=[Length(max=8000)])


class AppParamsForm(SettingsForm):
    """One mini-program's own values; an empty field means "the tenant's"."""

    required_private_infos = None  # belongs to the tenant's ext.json only


class PermissionsForm(FlaskForm):
    ext = BooleanField(_l("ext.json parameters (and requiredPrivateInfos)"))
    domains = BooleanField(_l("Domains"))
    privacy = BooleanField(_l("Privacy guideline"))


def fill_item_choices(form, defaults):
    """Pages and categories (get_page, get_category) as the item rows' choices, pre-filled with `defaults`
    (see `code.submit_defaults`)."""
    pages = [("", "—")] + [(p, p) for p in defaults["pages"]]
    cats = [("", "—")] + [(str(i), " / ".join(c.get(k) for k in ("first_class", "second_class", "third_class")
                                             if c.get(k))) for i, c in enumerate(defaults["categories"])]
    prefill = not form.is_submitted()
    while prefill and len(form.items.entries) < len(defaults["items"]):
        form.items.append_entry()
    for index, entry in enumerate(form.items.entries):
        entry.form.address.choices, entry.form.category.choices = as_choices(pages), as_choices(cats)
        if prefill and index < len(defaults["items"]):
            item = defaults["items"][index]
            entry.form.address.data, entry.form.title.data = item["address"], item["title"]
            entry.form.category.data = "0" if defaults["categories"] else ""


def form_to_submission(data, defaults):
    """The submit_audit fields from the form: item_list with the chosen category's ids and names."""
    categories = defaults["categories"]
    items = []
    for row in data.get("items") or []:
        if not row.get("address"):
            continue
        item = {"address": row["address"], "title": row.get("title") or "", "tag": row.get("tag") or ""}
        if (row.get("category") or "").isdigit() and int(row["category"]) < len(categories):
            cat = categories[int(row["category"])]
            item.update({k: cat[k] for k in ("first_class", "second_class", "third_class", "first_id", "second_id",
                                             "third_id") if cat.get(k) not in (None, "")})
        items.append({k: v for k, v in item.items() if v not in ("", None)})
    ugc = None
    if data.get("ugc_scene"):
        ugc = {"scene": data["ugc_scene"], "method": data.get("ugc_method") or [4],
               "has_audit_team": 1 if data.get("has_audit_team") else 0, "audit_desc": data.get("audit_desc") or ""}
    return {"item_list": items, "version_desc": data.get("version_desc") or "",
            "feedback_info": data.get("feedback_info") or "", "ugc_declare": ugc,
            "privacy_api_not_use": bool(data.get("privacy_api_not_use"))}


# --- setting up a new mini-program -------------------------------------------------------------------------

class NameForm(FlaskForm):
    nick_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=30)])
    proof = FileField(_l("Business licence (only for a name WeChat reviews)"))


class AvatarForm(FlaskForm):
    picture = FileField(_l("Picture (PNG, JPEG, GIF or BMP, at most 2 MB; square works best)"))


class IntroductionForm(FlaskForm):
    signature = TextAreaField(_l("Introduction (4-120 characters)"), validators=[DataRequired(), Length(max=120)])


class CategoryForm(FlaskForm):
    second = SelectField(_l("Category"), coerce=int, validators=[DataRequired()])
    documents = MultipleFileField(_l("Qualification documents, in the order the category lists them"))


class CategoryDeleteForm(FlaskForm):
    first = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]+$")])
    second = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]+$")])


class InterfaceForm(FlaskForm):
    api_name = SelectField(_l("API"), validators=[DataRequired()])
    content = TextAreaField(_l("Why the mini-program needs it (at most 300 characters)"),
                            validators=[DataRequired(), Length(max=300)])
    urls = TextAreaField(_l("Supporting web pages (one address a line)"), validators=[Optional(), Length(max=2000)])
    pictures = TextAreaField(_l("Supporting pictures (one address a line, at most 10)"),
                             validators=[Optional(), Length(max=4000)])
    video = StringField(_l("Supporting video (an MP4 address)"), validators=[Optional(), Length(max=500)])
