"""The statement and name questions codemods and generators share (codemods/statements.py)."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.helpers import get_full_name_for_node

from spaps_cli.codemods.statements import dotted_name, dotted_node, is_docstring


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('"""Doc."""\n', True),
        ('"one" "two"\n', True),  # implicit concatenation is still the docstring
        ("'single'\n", True),
        ('f"not {a} docstring"\n', False),  # Python keeps no f-string as __doc__
        ('x = "assigned"\n', False),
        ('"a"; "b"\n', False),  # two statements on one line
        ("import os\n", False),
    ],
)
def test_is_docstring(source: str, expected: bool) -> None:
    assert is_docstring(cst.parse_module(source).body[0]) is expected


@pytest.mark.parametrize(
    ("expression", "libcst_reads"),
    [
        ("make().task", "make.task"),
        ("tasks[0].delay", "tasks.delay"),
        ("(a or b).x", "None.x"),
    ],
)
def test_dotted_name_is_strict_where_libcst_s_helper_is_not(
    expression: str, libcst_reads: str
) -> None:
    # Why codemods keep their own: "is this call celery.Celery?" must not match look-alikes.
    node = cst.parse_expression(expression)
    assert get_full_name_for_node(node) == libcst_reads
    assert dotted_name(node) is None


@pytest.mark.parametrize("dotted", ["a", "a.b", "pkg.sub.module.Name"])
def test_dotted_node_and_dotted_name_agree_with_libcst_on_name_chains(dotted: str) -> None:
    node = dotted_node(dotted)
    assert dotted_name(node) == get_full_name_for_node(node) == dotted
    assert cst.Module(body=[]).code_for_node(node) == dotted
