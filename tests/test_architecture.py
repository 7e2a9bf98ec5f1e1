"""Structure checks on the portal's source: rules of the house that a review could miss.

Each check reads the code (Python with `ast`, templates with Jinja's parser); none imports the modules it checks.
"""

import ast
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from werkzeug.utils import import_string

from portal.wechat import errcodes, errors

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"
WECHAT = PORTAL / "wechat"

# --- no numeric errcode literal outside portal/wechat/ ------------------------------------------------------
#
# What counts as an errcode literal, decided so that ordinary numbers never trip the check:
# - a known errcode (a key of errcodes.ERRCODES or errors.ERRCODE_CLASSES) of 5 or more digits, as an int literal
#   in a comparison, an assignment, a set/tuple/list/dict, a call argument, a default, a subscript or a
#   return. WeChat's codes are 5 digits and up, so 0, 1, 60, 3600 or 86400 never match; a number that merely
#   coincides with a code inside arithmetic (`86000 * n`) is not flagged;
# - any non-zero int literal (so -1, and codes missing from the tables too) compared with an errcode: `x.errcode`,
#   a name containing "errcode", `getattr(x, "errcode")`, or passed as an `errcode=` argument. 0 ("ok") is
#   allowed: the call log shows failed calls as `errcode != 0`.
# Numbers inside strings and comments (the "(85085)" staff read, docstrings) are text, not checked.
# The typed exceptions and constants to use instead live in portal/wechat/errors.py.

KNOWN_ERRCODES = frozenset(c for c in set(errcodes.ERRCODES) | set(errors.ERRCODE_CLASSES) if abs(c) >= 10_000)
_CONTEXTS = (ast.Compare, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Call, ast.keyword, ast.Dict,
             ast.Subscript, ast.Return, ast.arguments, ast.Yield, ast.match_case, ast.MatchValue)
_CONTAINERS = (ast.Tuple, ast.List, ast.Set, ast.Starred)


def _int_value(node):
    """The int a literal spells (`-1` is UnaryOp(USub, 1)), else None; bools are not ints here."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _int_value(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _names_errcode(node):
    if isinstance(node, ast.Attribute):
        return "errcode" in node.attr.lower()
    if isinstance(node, ast.Name):
        return "errcode" in node.id.lower()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
        return len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "errcode"
    return False


def _literals(node):
    """The int literals a comparison operand holds: itself, or the items of a tuple/list/set."""
    if isinstance(node, _CONTAINERS):
        return [v for item in node.elts for v in _literals(item)]
    value = _int_value(node)
    return [] if value is None else [value]


def python_errcode_literals(source, filename="<source>"):
    """[(line, value, why)] for the errcode literals in one Python module (see the rules above)."""
    tree = ast.parse(source, filename)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = {}
    for node in ast.walk(tree):
        value = _int_value(node)
        if value is not None and value in KNOWN_ERRCODES and not isinstance(parents.get(node), ast.UnaryOp):
            context = parents.get(node)
            while isinstance(context, _CONTAINERS):
                context = parents.get(context)
            if isinstance(context, _CONTEXTS):
                found.setdefault((node.lineno, value), f"known errcode in {type(context).__name__}")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_errcode(o) for o in operands):
                for v in (v for o in operands for v in _literals(o) if v != 0):
                    found.setdefault((node.lineno, v), "compared with an errcode")
        if isinstance(node, ast.keyword) and node.arg and "errcode" in node.arg.lower():
            for v in (v for v in _literals(node.value) if v != 0):
                found.setdefault((node.lineno, v), "passed as errcode")
    return sorted((line, value, why) for (line, value), why in found.items())


def template_errcode_literals(source, env):
    """[(line, value, why)] for the errcode literals in one Jinja template: a known errcode anywhere (a
    template has no business with one), or a non-zero number compared with an errcode."""
    found = {}
    for const in env.parse(source).find_all(nodes.Const):
        if type(const.value) is int and abs(const.value) in KNOWN_ERRCODES | {-c for c in KNOWN_ERRCODES}:
            found.setdefault((const.lineno, const.value), "known errcode")
    for compare in env.parse(source).find_all(nodes.Compare):
        operands = [compare.expr, *(op.expr for op in compare.ops)]
        if any(isinstance(o, nodes.Getattr | nodes.Name) and "errcode" in getattr(o, "attr", getattr(o, "name", ""))
               for o in operands):
            for o in operands:
                value = o.value if isinstance(o, nodes.Const) else None
                if isinstance(o, nodes.Neg) and isinstance(o.node, nodes.Const):
                    value = -o.node.value
                if type(value) is int and value != 0:
                    found.setdefault((compare.lineno, value), "compared with an errcode")
    return sorted((line, value, why) for (line, value), why in found.items())


def _outside_wechat(pattern):
    return sorted(p for p in PORTAL.rglob(pattern) if WECHAT not in p.parents)


def test_no_numeric_errcode_outside_wechat():
    """Services act on typed errors (`except AlreadyReleased:`), never on raw numbers (STYLE.md E)."""
    offences = [f"{path.relative_to(PORTAL.parent)}:{line}: {value} ({why})"
                for path in _outside_wechat("*.py")
                for line, value, why in python_errcode_literals(path.read_text("utf-8"), str(path))]
    env = jinja2.Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do", "jinja2.ext.loopcontrols"])
    offences += [f"{path.relative_to(PORTAL.parent)}:{line}: {value} ({why})"
                 for path in _outside_wechat("*.html")
                 for line, value, why in template_errcode_literals(path.read_text("utf-8"), env)]
    assert not offences, "errcode literals outside portal/wechat/ (use a class from wechat/errors.py):\n" + \
        "\n".join(offences)


def test_errcode_check_finds_each_kind_and_spares_ordinary_numbers():
    """The check itself: what it must catch, and what it must leave alone."""
    caught = python_errcode_literals(
        "A, B = 85009, 85085\n"                        # 1 constant assignment (tuple unpacking)
        "if exc.errcode == 85052: pass\n"              # 2 comparison
        "ok = code in (61039, 61040)\n"                 # 3 membership in a tuple
        "TABLE = {86001: 'none'}\n"                     # 4 dict key
        "raise ReviewError(61039, 'x', 'api')\n"        # 5 call argument
        "if getattr(exc, 'errcode', None) == -1: pass\n"  # 6 -1 against an errcode
        "if exc.errcode != 87011: pass\n"               # 7 a code missing from the tables
        "WaitFor(5, 'text', errcode=-1)\n")             # 8 keyword
    assert sorted({line for line, _, _ in caught}) == [1, 2, 3, 4, 5, 6, 7, 8]
    spared = python_errcode_literals(
        "TTL = 86400\nRETRIES = (10, 60, 300)\nlast = items[-1]\nif n == -1: pass\n"
        "if row.errcode != 0: pass\nsize = 86000 * 2\nport = 65535\n"
        "'''Answers 85052 when already released.'''\n")
    assert spared == []
    env = jinja2.Environment()
    assert [v for _, v, _ in template_errcode_literals("{% if t.errcode == 85085 %}x{% endif %}", env)] == [85085]
    assert template_errcode_literals("{{ 'row-error' if c.errcode != 0 }} {{ t.errcode }}", env) == []


# --- jobs are entry points that only the worker imports ---------------------------------------------------
# Services (and everything else in `portal/`) enqueue a job by its dotted name through `portal.queueing`, so
# the rule "jobs -> services" holds and `portal/jobs/` holds entry points only. `worker.py` alone imports
# `portal.jobs`, to load the job modules once before any job runs (or before forking).

JOBS = PORTAL / "jobs"
# Modules outside portal/jobs/ that may import it: the worker preloads the job modules before work starts.
ALLOWED = {"worker.py"}


def _module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path, root=ROOT):
    """Every module `path` imports, at module level or inside functions, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root)
    package = package if path.name == "__init__.py" else package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from portal.jobs.fleet import x` imports portal.jobs.fleet; `from portal import jobs` imports portal.jobs
            names = [module] if _is_jobs(module) else [f"{module}.{alias.name}" for alias in node.names]
            for name in names:
                yield node.lineno, name


def _is_jobs(module):
    return module == "portal.jobs" or module.startswith("portal.jobs.")


def _checked_files():
    files = [p for p in PORTAL.rglob("*.py") if JOBS not in p.parents]
    files += [p for p in ROOT.glob("*.py") if p.name not in ALLOWED]  # wsgi.py and the like
    return sorted(files)


def test_nothing_outside_portal_jobs_imports_portal_jobs():
    offenders = sorted({f"{path.relative_to(ROOT)}:{line} imports {module}"
                        for path in _checked_files() for line, module in _imported_modules(path)
                        if _is_jobs(module)})
    assert not offenders, "enqueue jobs by dotted name through portal.queueing instead:\n" + "\n".join(offenders)


def _job_names():
    """String literals in portal/ outside portal/jobs/ that name something in portal.jobs (logger names aside)."""
    for path in _checked_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        loggers = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and getattr(node.func, "attr", getattr(node.func, "id", None)) == "getLogger"
                   for arg in node.args}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_jobs(node.value)
                    and " " not in node.value and id(node) not in loggers):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value


@pytest.mark.parametrize(("where", "name"), sorted(set(_job_names())))
def test_every_enqueued_job_name_is_a_job_function(where, name):
    """A typo in a dotted name would only show when the job runs: each must name a function in portal/jobs/."""
    assert callable(import_string(name)), f"{where}: {name}"


def test_the_services_enqueue_jobs_by_name():
    """The check above is not vacuous: services name the jobs they start."""
    assert any(where.startswith("portal/services/") for where, _name in _job_names())


# --- epoch seconds <-> datetimes only through portal/timeutil.py ------------------------------------------
#
# WeChat reports times as epoch seconds and the portal stores naive UTC datetimes; each copy of the conversion
# is one more place to get the time zone wrong. Flagged outside timeutil.py: any `fromtimestamp` /
# `utcfromtimestamp` call, and `<naive datetime>.replace(tzinfo=UTC).timestamp()`. A datetime that may carry
# its own zone (RQ's `job.started_at`: `replace(tzinfo=x.tzinfo or UTC)`) is not a naive UTC row value and is
# not flagged.

TIMEUTIL = PORTAL / "timeutil.py"


def _epoch_conversions(tree):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in ("fromtimestamp", "utcfromtimestamp"):
            yield node.lineno, node.func.attr
        elif node.func.attr == "timestamp" and isinstance(node.func.value, ast.Call):
            inner = node.func.value
            if isinstance(inner.func, ast.Attribute) and inner.func.attr == "replace" and any(
                    kw.arg == "tzinfo" and isinstance(kw.value, ast.Name) and kw.value.id == "UTC"
                    for kw in inner.keywords):
                yield node.lineno, "replace(tzinfo=UTC).timestamp"


def test_epoch_conversions_live_in_timeutil():
    offenders = [f"{path.relative_to(ROOT)}:{line} {what}"
                 for path in sorted(PORTAL.rglob("*.py")) if path != TIMEUTIL
                 for line, what in _epoch_conversions(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offenders, "use portal.timeutil.from_epoch / to_epoch:\n" + "\n".join(offenders)


def test_epoch_check_finds_both_forms():
    """The check above is not vacuous: timeutil's own helpers are what it looks for."""
    assert {what for _line, what in _epoch_conversions(ast.parse(TIMEUTIL.read_text(encoding="utf-8")))} == \
        {"fromtimestamp", "replace(tzinfo=UTC).timestamp"}


# --- no import cycles ------------------------------------------------------------------------------------
# A module imports another (at module level or inside a function: a deferred import is still a circle, only
# hidden) when one of its import statements names it. `from package import name` counts as importing the
# submodule `package.name` when that is a module, else `package` itself; the parent packages a submodule
# import runs on the way are not counted (`a.b` importing `a.c` would otherwise always close a circle through
# `a/__init__.py`). The checks below point the finder at one feature package at a time; the same functions
# take any set of files, up to all of portal/.

PUSHES = PORTAL / "services" / "pushes"


def import_graph(files, root=ROOT):
    """{module: {modules it imports}}, both among the modules of `files` (named from `root`) only."""
    modules = {_module_name(path, root): path for path in files}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for _line, imported in _imported_modules(path, root):
            while imported and imported not in modules:  # `from a.b import f` imports a.b; names outside are skipped
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                edges.add(imported)
        graph[name] = edges
    return graph


def import_cycles(graph):
    """The import circles of `graph`: one list of modules per strongly connected group of two or more
    (Tarjan's algorithm, iterative), each sorted, the list sorted."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_the_pushes_package_has_no_import_cycle():
    """The stream and the spool are given the store function; they do not import it back from receiving."""
    files = sorted(PUSHES.glob("*.py"))
    graph = import_graph(files)
    assert {"receiving", "store", "stream", "spool", "group_commit"} <= {m.rpartition(".")[2] for m in graph}
    assert not import_cycles(graph), "\n".join(" <-> ".join(cycle) for cycle in import_cycles(graph))


def test_the_cycle_finder_finds_deferred_and_long_circles(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    sources = {
        "__init__.py": "from pkg.a import run\n",
        "a.py": "from pkg import b\n",
        "b.py": "def later():\n    from pkg.c import f\n",  # a deferred import still closes the circle
        "c.py": "import pkg.a\n",
        "d.py": "from . import a\nfrom pkg.a import run\n",  # imports into the circle, not part of it
        "e.py": "import os\n",
    }
    for name, source in sources.items():
        (package / name).write_text(source)
    graph = import_graph(sorted(package.glob("*.py")), root=tmp_path)
    assert graph["pkg.d"] == {"pkg.a"} and graph["pkg.e"] == set()
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_portal_has_no_import_cycle():
    """Every module of portal/ sits above or below each other one: no circle, not even through a deferred import
    or a blueprint package and its views."""
    graph = import_graph(sorted(PORTAL.rglob("*.py")))
    cycles = import_cycles(graph)
    for cycle in cycles:
        print(" <-> ".join(cycle))
    assert not cycles, "import cycles in portal/:\n" + "\n".join(" <-> ".join(cycle) for cycle in cycles)
