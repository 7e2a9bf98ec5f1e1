"""The baseline of the callback benchmark: a bare Flask app whose every POST answers "success", served by
the same gunicorn settings as the portal (`gunicorn bench.bare_app:app`)."""

from flask import Flask

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def success(path):
    return "success", 200, {"Content-Type": "text/plain; charset=utf-8"}
