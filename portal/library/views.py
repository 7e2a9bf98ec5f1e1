"""Views of the template library (staff only): list with usage, drafts, add, delete, notes and schema,
and a mini-program's own ext parameters."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import staff_required
from portal.errors import PortalError
from portal.library.forms import AddDraftForm, ConfirmForm, NotesForm
from portal.services import library

bp = Blueprint("library", __name__, template_folder="templates")


@bp.route("/")
@staff_required
def index():
    return _index(AddDraftForm())


def _index(add_form, status=200):
    error, drafts = None, []
    try:
        drafts = library.drafts()
    except PortalError as exc:
        error = exc.message
    return render_template("library/index.html", templates=library.list_templates(), usage=library.usage(),
                           drafts=drafts, error=error, add_form=add_form, confirm=ConfirmForm()), status


@bp.route("/sync", methods=["POST"])
@staff_required
def sync():
    return _act(lambda: library.sync_templates(current_user), _("The library was refreshed from WeChat."))


@bp.route("/add", methods=["POST"])
@staff_required
def add():
    form = AddDraftForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    return _act(lambda: library.add_draft(form.draft_id.data, form.template_type.data, current_user),
                _("The draft is now a template."))


@bp.route("/<int:template_id>/delete", methods=["POST"])
@staff_required
def delete(template_id):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("library.index"))
    return _act(lambda: library.delete_template(template_id, current_user), _("The template was deleted."))


def _act(action, success):
    try:
        action()
    except PortalError as exc:
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for("library.index"))


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@staff_required
def edit(template_id):
    row = library.get_template(template_id)
    form = NotesForm(data={"changelog": row.changelog, "notes": row.notes,
                           "ext_schema": library.format_schema(row.schema())})
    if form.validate_on_submit():
        try:
            library.save_notes(template_id, current_user, form.changelog.data, form.notes.data, form.ext_schema.data)
        except PortalError as exc:
            form.ext_schema.errors = [exc.message]
        else:
            flash(_("Notes saved."), "success")
            return redirect(url_for("library.edit", template_id=template_id))
    status = 400 if form.errors or form.ext_schema.errors else 200
    return render_template("library/edit.html", row=row, form=form, usage=library.usage().get(template_id)), status


@bp.route("/miniprograms/<int:mp_id>/params", methods=["GET", "POST"])
@staff_required
def mp_params(mp_id):
    """Sends bookmarks of the staff-only ext page to the mini-program's Parameters tab, where its
    parameters are edited."""
    return redirect(url_for("releases.params_page", mp_id=mp_id), code=308)
