"""Views of the Setup tab: what a new mini-program needs before its first audit (name, avatar, introduction,
categories, location APIs), and the checklist's re-check. Logic lives in `services.code.setup`."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.action_limits import wechat_action
from portal.errors import PortalError
from portal.releases.forms import (
    AvatarForm,
    CategoryDeleteForm,
    CategoryForm,
    ConfirmForm,
    InterfaceForm,
    IntroductionForm,
    NameForm,
)
from portal.releases.views import bp, load_mp
from portal.services.code import setup


def _upload(field):
    """(filename, bytes) of an uploaded file field, or None when nothing was chosen."""
    data = field.data
    if not data or not getattr(data, "filename", ""):
        return None
    return data.filename, data.read()


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _outcome(fn, success, endpoint, mp, *args):
    """Run a setup service; flash its outcome (`success` may depend on its result) and go back to the page."""
    try:
        result = fn(mp, current_user, *args)
    except PortalError as exc:
        flash(exc.message, "error")
    else:
        flash(success(result) if callable(success) else success, "success")
    return redirect(url_for(endpoint, mp_id=mp.id))


@bp.route("/<int:mp_id>/setup")
@login_required
def setup_page(mp_id):
    mp = load_mp(mp_id)
    try:
        info, error = setup.basic_info(mp), None
    except PortalError as exc:
        info, error = None, exc.message
    return render_template("releases/setup.html", mp=mp, info=info, error=error, name_form=NameForm(),
                           avatar_form=AvatarForm(), intro_form=IntroductionForm())


@bp.route("/<int:mp_id>/setup/name", methods=["POST"])
@wechat_action()
@login_required
def setup_name(mp_id):
    mp, form = load_mp(mp_id), NameForm()
    if not form.validate_on_submit():
        flash(_("Give the name (at most 30 characters)."), "error")
        return redirect(url_for("releases.setup_page", mp_id=mp.id))
    return _outcome(setup.set_name, lambda audited: _("The name went to WeChat for review; this page shows its "
                                                      "outcome.") if audited else _("Name set."),
                    "releases.setup_page", mp, form.nick_name.data, _upload(form.proof))


@bp.route("/<int:mp_id>/setup/avatar", methods=["POST"])
@wechat_action()
@login_required
def setup_avatar(mp_id):
    mp, form = load_mp(mp_id), AvatarForm()
    if not form.validate_on_submit():
        abort(400)
    return _outcome(setup.set_avatar, _("Avatar set."), "releases.setup_page", mp,
                    _upload(form.picture) or ("", b""))


@bp.route("/<int:mp_id>/setup/introduction", methods=["POST"])
@wechat_action()
@login_required
def setup_introduction(mp_id):
    mp, form = load_mp(mp_id), IntroductionForm()
    if not form.validate_on_submit():
        flash(_("The introduction must be 4 to 120 characters long."), "error")
        return redirect(url_for("releases.setup_page", mp_id=mp.id))
    return _outcome(setup.set_introduction, _("Introduction set."), "releases.setup_page", mp,
                    form.signature.data)


@bp.route("/<int:mp_id>/setup/categories")
@login_required
def setup_categories(mp_id):
    mp, form = load_mp(mp_id), CategoryForm()
    try:
        tree, held, error = setup.category_tree(mp), setup.categories(mp), None
    except PortalError as exc:
        tree, held, error = [], [], exc.message
    form.second.choices = [(c["id"], c["name"]) for f in tree for c in f["children"]]
    return render_template("releases/setup_categories.html", mp=mp, tree=tree, held=held, error=error, form=form,
                           delete_form=CategoryDeleteForm())


@bp.route("/<int:mp_id>/setup/categories/add", methods=["POST"])
@wechat_action()
@login_required
def setup_add_category(mp_id):
    mp, form = load_mp(mp_id), CategoryForm()
    second = request.form.get("second", "")
    form.second.choices = [(int(second), "")] if second.isdigit() else []  # the service checks WeChat's tree
    if not form.validate_on_submit():
        flash(_("Pick a category from the list."), "error")
        return redirect(url_for("releases.setup_categories", mp_id=mp.id))
    files = [(f.filename, f.read()) for f in form.documents.data or () if getattr(f, "filename", "")]
    return _outcome(setup.add_category, lambda audited: _("Category added; WeChat reviews its documents, and "
                                                          "this page shows the outcome.") if audited
                    else _("Category added."), "releases.setup_categories", mp, form.second.data, files)


@bp.route("/<int:mp_id>/setup/categories/delete", methods=["POST"])
@wechat_action()
@login_required
def setup_delete_category(mp_id):
    mp, form = load_mp(mp_id), CategoryDeleteForm()
    if not form.validate_on_submit():
        abort(400)
    return _outcome(setup.delete_category, _("Category removed."), "releases.setup_categories", mp,
                    int(form.first.data), int(form.second.data))


@bp.route("/<int:mp_id>/setup/location-apis")
@login_required
def setup_interfaces(mp_id):
    mp, form = load_mp(mp_id), InterfaceForm()
    try:
        rows, error = setup.interfaces(mp), None
    except PortalError as exc:
        rows, error = [], exc.message
    form.api_name.choices = [(r["api_name"], f"{r['api_name']} · {r.get('api_ch_name', '')}") for r in rows]
    return render_template("releases/setup_interfaces.html", mp=mp, rows=rows, error=error, form=form)


@bp.route("/<int:mp_id>/setup/location-apis/apply", methods=["POST"])
@wechat_action()
@login_required
def setup_apply_interface(mp_id):
    mp, form = load_mp(mp_id), InterfaceForm()
    form.api_name.choices = [(request.form.get("api_name", ""), "")]  # WeChat checks the name (61035)
    if not form.validate_on_submit():
        flash(_("Say why the mini-program needs this API, in at most 300 characters."), "error")
        return redirect(url_for("releases.setup_interfaces", mp_id=mp.id))
    return _outcome(setup.apply_interface, _("Applied; WeChat reviews the application, and this page shows the "
                                             "outcome."), "releases.setup_interfaces", mp, form.api_name.data,
                    form.content.data, _lines(form.urls.data), _lines(form.pictures.data),
                    (form.video.data or "").strip() or None)


@bp.route("/<int:mp_id>/setup/recheck", methods=["POST"])
@wechat_action()
@login_required
def setup_recheck(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        setup.checklist(mp, refresh=True)
    except PortalError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Checked with WeChat."), "success")
    return redirect(url_for("releases.overview", mp_id=mp.id) + "#setup-checklist")
