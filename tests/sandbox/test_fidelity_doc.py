"""sandbox/FIDELITY.md has a row for every WeChat endpoint the portal's client calls.

The paths come from the source of ``portal/wechat/`` (parsed with ``ast``, never imported): the path
argument of every sender call (``_post``, ``_get``, ``_upload``, ``http.call``) and the page paths inside
f-string URL builders (the authorization pages). A sender whose path is neither a string literal nor the
pass-through parameter of a wrapper fails the test, so a new way of passing paths cannot slip past it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WECHAT = ROOT / "portal" / "wechat"
FIDELITY = ROOT / "sandbox" / "FIDELITY.md"

SENDERS = {"_post": 0, "_get": 0, "_upload": 0, "call": 1}  # sender name -> position of the path argument
API_PATH = re.compile(r"/(?:cgi-bin|wxa|wxaopen|safe|sns)/[A-Za-z0-9_./-]*[A-Za-z0-9_]")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _sender_name(call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name if name in SENDERS else None


def _path_argument(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "path":
            return keyword.value
    position = SENDERS[name]
    return call.args[position] if len(call.args) > position else None


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = function.args
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}


def _scan(source: str, filename: str, paths: dict[str, str], problems: list[str]) -> None:
    tree = ast.parse(source, filename=filename)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    owner = {id(node): fn for fn in functions for node in ast.walk(fn)}  # innermost wins: walk order is outer first
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (name := _sender_name(node)):
            arg = _path_argument(node, name)
            where = f"{filename}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and API_PATH.fullmatch(arg.value):
                paths.setdefault(arg.value, where)
            elif isinstance(arg, ast.Name) and id(node) in owner and arg.id in _parameters(owner[id(node)]):
                continue  # a wrapper handing its own ``path`` parameter on; its callers are scanned
            elif name == "call" and arg is None:
                continue  # not a WeChat sender (no path argument at all)
            else:
                problems.append(f"{where}: {name}() gets its path from an expression; pass a literal path")
        elif isinstance(node, ast.JoinedStr):  # URL builders such as f"{mp_base}/cgi-bin/componentloginpage?…"
            for part in node.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    for match in API_PATH.finditer(part.value):
                        paths.setdefault(match.group(0), f"{filename}:{node.lineno}")


def portal_api_paths() -> dict[str, str]:
    """Every WeChat path in portal/wechat/**/*.py -> where it was first seen."""
    paths: dict[str, str] = {}
    problems: list[str] = []
    for file in sorted(WECHAT.rglob("*.py")):
        _scan(file.read_text(encoding="utf-8"), str(file.relative_to(ROOT)), paths, problems)
    assert not problems, "cannot read every endpoint path:\n" + "\n".join(problems)
    return paths


def documented_paths() -> set[str]:
    """Paths that head a section of FIDELITY.md as code spans (a query string after ``?`` is ignored).

    Only headings count: a path merely mentioned in another endpoint's section has no row of its own.
    """
    headings = [line for line in FIDELITY.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    return {span.split("?", 1)[0] for line in headings for span in CODE_SPAN.findall(line)
            if API_PATH.match(span)}


def test_extraction_finds_the_client_paths():
    paths = portal_api_paths()
    assert paths, "found no WeChat API path in portal/wechat/: the extraction is broken"
    # anchors from each way a path is passed: _post, _get, http.call, _upload, an f-string page URL
    for anchor in ("/wxa/commit", "/wxa/get_latest_auditstatus", "/wxa/gettemplatelist", "/wxa/uploadmedia",
                   "/cgi-bin/component/api_component_token", "/cgi-bin/componentloginpage"):
        assert anchor in paths, f"extraction missed {anchor}; found {sorted(paths)}"


def test_scan_refuses_paths_it_cannot_read():
    paths: dict[str, str] = {}
    problems: list[str] = []
    _scan("def f(self, p):\n    self._post(PREFIX + '/x', 'x', {})\n", "example.py", paths, problems)
    assert problems and not paths


def test_every_client_endpoint_has_a_fidelity_row():
    assert FIDELITY.is_file(), "sandbox/FIDELITY.md is missing"
    documented = documented_paths()
    missing = {path: where for path, where in portal_api_paths().items() if path not in documented}
    assert not missing, "endpoints the portal calls without a row in sandbox/FIDELITY.md:\n" + "\n".join(
        f"  `{path}` (first used at {where})" for path, where in sorted(missing.items()))
