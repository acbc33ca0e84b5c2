"""The render engine: template trees become plan entries, never files outside the destination."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePosixPath

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spaps_cli import names
from spaps_cli.errors import UsageError
from spaps_cli.generators.render import render_tree
from spaps_cli.generators.service import ServiceAnswers, plan_service
from spaps_cli.generators.templates_location import template_tree
from spaps_cli.plan import ConflictPolicy, Plan


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def planned(plan: Plan) -> dict[str, bytes]:
    return {f.relative_to(plan.root): f.content for f in plan.files}


def test_jinja_files_are_rendered_and_lose_the_suffix(tmp_path: Path) -> None:
    tree = make_tree(
        tmp_path / "tree",
        {
            "src/{{ package }}/main.py.jinja": "NAME = {{ name | quoted }}\n",
            "alembic.ini": "file_template = %%(year)d_{{ not_rendered }}\n",
        },
    )
    plan = Plan(tmp_path / "out")
    paths = render_tree(tree, {"package": "pkg", "name": 'say "hi"'}, plan)

    assert paths == ["alembic.ini", "src/pkg/main.py"]
    assert planned(plan) == {
        "alembic.ini": b"file_template = %%(year)d_{{ not_rendered }}\n",
        "src/pkg/main.py": b'NAME = "say \\"hi\\""\n',  # keep_trailing_newline
    }
    assert not (tmp_path / "out").exists()  # rendering never writes


def test_undefined_variable_is_an_error(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", {"a.txt.jinja": "{{ typo }}\n"})
    with pytest.raises(jinja2.UndefinedError):
        render_tree(tree, {}, Plan(tmp_path / "out"))


def test_undefined_variable_in_a_path_is_an_error(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", {"{{ typo }}/a.txt": "x"})
    with pytest.raises(jinja2.UndefinedError):
        render_tree(tree, {}, Plan(tmp_path / "out"))


@pytest.mark.parametrize("value", ["..", ".", "", "a/../../b", "/etc", "a\\b"])
def test_unsafe_path_segment_is_refused(tmp_path: Path, value: str) -> None:
    tree = make_tree(tmp_path / "tree", {"{{ package }}/a.txt": "x"})
    plan = Plan(tmp_path / "out")
    with pytest.raises(UsageError, match="unsafe segment"):
        render_tree(tree, {"package": value}, plan)
    assert plan.files == []


def test_symlink_leading_out_of_the_destination_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "out"
    destination.mkdir()
    (destination / "src").symlink_to(outside, target_is_directory=True)
    tree = make_tree(tmp_path / "tree", {"src/a.txt": "x"})

    with pytest.raises(UsageError, match="resolves outside"):
        render_tree(tree, {}, Plan(destination))
    assert list(outside.iterdir()) == []


def test_include_filters_on_template_paths_and_into_prefixes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", {"keep.py.jinja": "k\n", "drop.py.jinja": "d\n"})
    plan = Plan(tmp_path / "out")
    paths = render_tree(
        tree, {}, plan, into="sub", include=lambda source: source != PurePosixPath("drop.py.jinja")
    )
    assert paths == ["sub/keep.py"]


def test_executable_bit_is_carried(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", {"run.sh": "#!/bin/sh\n"})
    (tree / "run.sh").chmod(0o755)
    plan = Plan(tmp_path / "out")
    render_tree(tree, {}, plan)
    assert [f.executable for f in plan.files] == [True]


def test_template_tree_is_found() -> None:
    tree = template_tree("service")
    assert (tree / "pyproject.toml.jinja").is_file()


@pytest.mark.parametrize(
    ("celery", "pgvector"), [(True, False), (False, True)], ids=["default", "no-celery-pgvector"]
)
def test_every_planned_service_path_is_inside_the_destination(
    tmp_path: Path, celery: bool, pgvector: bool
) -> None:
    answers = ServiceAnswers.build(
        names.service_name("billing-api"), celery=celery, pgvector=pgvector
    )
    destination = tmp_path / "svc"
    plan = plan_service(answers, destination=destination, now=datetime(2026, 1, 2, 3, 4))

    root = destination.resolve()
    assert plan.files
    for planned_file in plan.files:
        assert planned_file.path.is_relative_to(root)
        assert ".." not in planned_file.path.parts
    paths = set(planned(plan))
    assert "migrations/versions/202601020304_core_initial.py" in paths
    assert ("src/billing_api/worker.py" in paths) is celery
    assert ("tests/test_worker.py" in paths) is celery
    assert not any(p.endswith(".jinja") for p in paths)
    assert not destination.exists()
    assert all(r.action.value == "create" for r in plan.resolve(ConflictPolicy.ERROR))


@pytest.mark.parametrize(
    "text", ["plain", 'say "hi"', "it's", "both \" and ' here", "back\\slash", "café ☕"]
)
def test_python_string_round_trips(text: str) -> None:
    import ast

    from spaps_cli.generators.render import python_string

    assert ast.literal_eval(python_string(text)) == text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.one_of(
        st.from_regex(names.SERVICE_PATTERN, fullmatch=True),
        st.text(alphabet="abcz019-_./\\ :", min_size=1, max_size=12),
    )
)
def test_any_accepted_name_renders_only_inside_the_destination(raw: str, tmp_path: Path) -> None:
    """Whatever the validator lets through can never place a file outside the destination."""
    try:
        name = names.service_name(raw)
    except UsageError:
        return
    destination = tmp_path / "svc"
    plan = plan_service(ServiceAnswers.build(name), destination=destination)
    assert name.package.isidentifier()
    for planned_file in plan.files:
        assert planned_file.path.is_relative_to(destination.resolve())


def test_compiled_templates_are_cached_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tree = make_tree(tmp_path / "tree", {"a.txt.jinja": "{{ x }}\n"})

    first = Plan(tmp_path / "out")
    render_tree(tree, {"x": "one"}, first)
    cached = list((tmp_path / "cache" / "spaps" / "templates").iterdir())
    assert len(cached) == 1

    (tree / "a.txt.jinja").write_text("changed {{ x }}\n")  # the cache is keyed by source
    second = Plan(tmp_path / "out")
    render_tree(tree, {"x": "two"}, second)
    assert planned(second) == {"a.txt": b"changed two\n"}

    for entry in (tmp_path / "cache" / "spaps" / "templates").iterdir():
        entry.write_bytes(b"garbage")  # a corrupt entry is recompiled, never trusted
    third = Plan(tmp_path / "out")
    render_tree(tree, {"x": "three"}, third)
    assert planned(third) == {"a.txt": b"changed three\n"}


def test_template_cache_can_be_off_or_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spaps_cli.generators.render import bytecode_cache

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert bytecode_cache() is None  # a file where the cache should be: compile every time
    tree = make_tree(tmp_path / "tree", {"a.txt.jinja": "{{ x }}\n"})
    plan = Plan(tmp_path / "out")
    render_tree(tree, {"x": "ok"}, plan)
    assert planned(plan) == {"a.txt": b"ok\n"}

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SPAPS_TEMPLATE_CACHE", "off")
    assert bytecode_cache() is None
