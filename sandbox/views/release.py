"""Mini-program release endpoints (authorizer token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("release", __name__)
