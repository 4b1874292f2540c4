"""Pages, API classes, forms and serializers reach tenant rows only through the door.

In those files a tenant model's `.objects` may only be followed by `for_organization(...)` (or
`none()`); class-level declarations (`queryset = Model.objects.…` on a DRF view, form field
placeholders) are allowed because the strict manager refuses to evaluate them unscoped, and the
view mixin scopes them; `scoped(request, Model.objects.…)` is allowed because it scopes. Every
`unscoped()` there is counted below, so a new one is a reviewed change. Hand-written
`filter(organization=…)` is not allowed: use `for_organization`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

from cxm.tenancy.models import TenantManager

ROOT = Path(__file__).resolve().parents[2]
APPS = ["cxm", "journeys", "surveys", "feedback", "metrics"]
INTERFACE_FILES = {"views.py", "api.py", "forms.py", "serializers.py"}
SCOPING_CALLS = {"scoped", "scoped_get_or_404"}

# Public pages and endpoints resolve a public id before any tenant is known, and correlated
# subqueries are scoped by their outer row. Each is named; change a count only with a reason.
UNSCOPED_ALLOWED = {
    "cxm/tenancy/views.py": 1,  # switching organization chooses among the user's own memberships
    "surveys/api.py": 1,  # the public submission loads the survey its snapshot named
    "surveys/views/builder.py": 1,  # `_count`: a subquery correlated to the outer, scoped survey
}


def interface_files() -> list[Path]:
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if path.name in INTERFACE_FILES or {"views", "api"} & set(path.parent.relative_to(ROOT).parts):
                found.append(path)
    return sorted(found)


def plain_models() -> set[str]:
    """Model names whose default manager is not strict (users, organizations…)."""
    return {m.__name__ for m in apps.get_models() if not isinstance(m._default_manager, TenantManager)}


def violations(path: Path, plain: set[str], root: Path = ROOT) -> tuple[list[str], int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname
    }

    def in_function(node: ast.AST) -> bool:
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                return True
        return False

    def argument_of_scoping_call(node: ast.AST) -> bool:
        while node in parents:
            parent = parents[node]
            if isinstance(parent, ast.Call) and node in parent.args:
                func = parent.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                return name in SCOPING_CALLS
            if not isinstance(parent, ast.Attribute | ast.Call):
                return False
            node = parent
        return False

    found: list[str] = []
    unscoped = 0
    where = path.relative_to(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager"):
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else ""
            if aliases.get(name, name) in plain or name == "User":
                continue
            parent = parents.get(node)
            nxt = parent.attr if isinstance(parent, ast.Attribute) else ""
            if nxt == "using" and parent is not None:  # `Model.objects.using(alias).for_organization(…)`
                call = parents.get(parent)
                after = parents.get(call) if call is not None else None
                nxt = after.attr if isinstance(after, ast.Attribute) else ""
            if nxt in ("for_organization", "none"):
                continue
            if nxt == "unscoped":
                unscoped += 1
                continue
            if not in_function(node) or argument_of_scoping_call(node):
                continue
            found.append(f"{where}:{node.lineno}: {ast.unparse(parent or node)[:80]}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("filter", "get", "exclude") and any(
                k.arg in ("organization", "organization_id") for k in node.keywords
            ):
                found.append(f"{where}:{node.lineno}: hand-written {node.func.attr}(organization=…)")
    return found, unscoped


def test_interfaces_reach_tenant_rows_only_through_the_door() -> None:
    plain = plain_models()
    problems: list[str] = []
    counts: dict[str, int] = {}
    for path in interface_files():
        found, unscoped = violations(path, plain)
        problems += found
        if unscoped:
            counts[str(path.relative_to(ROOT))] = unscoped
    assert problems == [], "Use Model.objects.for_organization(org) or the view mixin:\n" + "\n".join(
        problems
    )
    assert counts == UNSCOPED_ALLOWED


def test_the_lint_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "views.py"
    bad.write_text(
        "from surveys.models import Response as SurveyResponse, Survey\n"
        "class V:\n"
        "    queryset = Survey.objects.all()\n"
        "def view(request, organization):\n"
        "    a = Survey.objects.filter(name='x')\n"
        "    b = SurveyResponse.objects.all()\n"
        "    c = Survey.objects.for_organization(organization).filter(organization=organization)\n"
        "    d = scoped(request, Survey.objects.select_related('touchpoint'))\n"
        "    e = Survey.objects.unscoped()\n"
    )
    found, unscoped = violations(bad, plain_models(), root=tmp_path)
    assert sorted(line.split(":")[1] for line in found) == ["5", "6", "7"]
    assert unscoped == 1
