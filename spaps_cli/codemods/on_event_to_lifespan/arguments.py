"""Editing a constructor call's arguments: ``lifespan=`` in, ``on_startup=``/``on_shutdown=`` out.

The call keeps its layout: its comments stay with the argument whose line they end, a trailing
comma (or its absence) and the closing paren's line are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from spaps_cli.codemods.traversal import Visitor

_NO_SPACE = cst.SimpleWhitespace("")


def appended_lifespan(call: cst.Call, lifespan_name: str) -> cst.Call:
    """``create_app(lifespan=x)`` -> ``lifespan=[x, new]``; a literal list gets one more item."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is None or arg.keyword.value != "lifespan":
            continue
        value = arg.value
        if isinstance(value, cst.List | cst.Tuple) and value.elements:
            elements = list(value.elements)
            last = elements[-1]
            comma = last.comma if isinstance(last.comma, cst.Comma) else cst.MaybeSentinel.DEFAULT
            elements[-1] = last.with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                if not isinstance(last.comma, cst.Comma)
                else last.comma
            )
            elements.append(cst.Element(cst.Name(lifespan_name), comma=comma))
            new_value: cst.BaseExpression = value.with_changes(elements=elements)
        else:
            new_value = cst.List(
                [
                    cst.Element(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Element(cst.Name(lifespan_name)),
                ]
            )
        args[index] = arg.with_changes(value=new_value)
    return call.with_changes(args=args)


def with_lifespan(call: cst.Call, lifespan_name: str, indent: str) -> cst.Call:
    """Replace on_startup=/on_shutdown= with lifespan=, or append it, keeping the layout.

    A comment stays with the argument whose line it ends: an appended ``lifespan=`` goes on
    its own line, with its siblings' indentation, when the last argument's line carries a
    comment, and the call keeps its trailing comma (or lack of one) and its closing paren. The
    comments of removed ``on_startup=``/``on_shutdown=`` arguments become comment lines above
    ``lifespan=``, which now holds those handlers. ``indent`` is the module's indentation unit.
    """
    new_arg = cst.Arg(
        value=cst.Name(lifespan_name),
        keyword=cst.Name("lifespan"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    # gaps[i] is the whitespace before args[i]; gaps[-1] the one before the closing paren.
    gaps = [call.whitespace_before_args, *(_after(arg) for arg in args)]
    event_positions = [
        i
        for i, arg in enumerate(args)
        if arg.keyword is not None and arg.keyword.value in {"on_startup", "on_shutdown"}
    ]
    if not event_positions:
        if not args:
            return call.with_changes(args=[new_arg])
        _append(args, gaps, new_arg, indent)
    else:
        _replace_events(args, gaps, new_arg, event_positions, indent)
    return call.with_changes(
        whitespace_before_args=gaps[0],
        args=[_with_after(arg, gap) for arg, gap in zip(args, gaps[1:], strict=True)],
    )


def _after(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace:
    """The whitespace after ``arg`` and its comma: where the comment ending its line sits."""
    if isinstance(arg.comma, cst.Comma):
        return arg.comma.whitespace_after
    return arg.whitespace_after_arg


def _with_after(arg: cst.Arg, gap: cst.BaseParenthesizableWhitespace) -> cst.Arg:
    if isinstance(arg.comma, cst.Comma):
        return arg.with_changes(comma=arg.comma.with_changes(whitespace_after=gap))
    return arg.with_changes(whitespace_after_arg=gap)


def _append(
    args: list[cst.Arg],
    gaps: list[cst.BaseParenthesizableWhitespace],
    new_arg: cst.Arg,
    indent: str,
) -> None:
    """Add ``new_arg`` after the last argument, laid out like the gap before that argument."""
    last = args[-1]
    tail = gaps[-1]
    sibling = gaps[-2]
    between: cst.BaseParenthesizableWhitespace
    if isinstance(tail, cst.ParenthesizedWhitespace):
        # The last line's comment stays on it; the closing paren keeps its own line.
        between = _line_break(sibling, tail, indent, first_line=tail.first_line)
        closing: cst.BaseParenthesizableWhitespace = tail.with_changes(
            first_line=cst.TrailingWhitespace()
        )
    else:
        between = (
            sibling.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
            if isinstance(sibling, cst.ParenthesizedWhitespace)
            else cst.SimpleWhitespace(" ")
        )
        closing = tail
    if isinstance(last.comma, cst.Comma):
        new_arg = new_arg.with_changes(comma=cst.Comma())
    else:
        args[-1] = last.with_changes(comma=cst.Comma(), whitespace_after_arg=_NO_SPACE)
    args.append(new_arg)
    gaps[-1:] = [between, closing]


def _replace_events(
    args: list[cst.Arg],
    gaps: list[cst.BaseParenthesizableWhitespace],
    new_arg: cst.Arg,
    positions: list[int],
    indent: str,
) -> None:
    """``lifespan=`` takes the first event argument's place; the other ones go.

    The comments written on or inside the removed arguments (and the comment lines just above
    the ones that go) move to comment lines above ``lifespan=`` instead of being lost or
    ending up next to another argument.
    """
    first = positions[0]
    orphans: dict[int, list[cst.Comment]] = {}
    for position in reversed(positions[1:]):
        removed = args[position]
        before, after = gaps[position], gaps[position + 1]
        orphans[position] = [
            *_comments_on(
                before.empty_lines if isinstance(before, cst.ParenthesizedWhitespace) else ()
            ),
            *_comments_in_arg(removed),
            *_line_comment(after),
        ]
        del args[position]
        del gaps[position + 1]
        gaps[position] = _joined(before, after)
        if position == len(args):  # the last argument went: its neighbour takes its comma (or none)
            args[-1] = args[-1].with_changes(comma=removed.comma)
    orphans[first] = [*_comments_in_arg(args[first]), *_line_comment(gaps[first + 1])]
    args[first] = new_arg.with_changes(comma=args[first].comma)
    after = gaps[first + 1]
    if isinstance(after, cst.ParenthesizedWhitespace):
        gaps[first + 1] = after.with_changes(first_line=cst.TrailingWhitespace())
    moved = [comment for position in sorted(orphans) for comment in orphans[position]]
    if moved:
        before = gaps[first]
        if not isinstance(before, cst.ParenthesizedWhitespace):
            sibling = next(
                (gap for gap in gaps[:-1] if isinstance(gap, cst.ParenthesizedWhitespace)), before
            )
            before = _line_break(sibling, gaps[-1], indent, first_line=cst.TrailingWhitespace())
        assert isinstance(before, cst.ParenthesizedWhitespace)
        lines = [
            cst.EmptyLine(indent=before.indent, whitespace=before.last_line, comment=comment)
            for comment in moved
        ]
        gaps[first] = before.with_changes(empty_lines=[*before.empty_lines, *lines])


def _line_break(
    sibling: cst.BaseParenthesizableWhitespace,
    fallback: cst.BaseParenthesizableWhitespace,
    indent: str,
    *,
    first_line: cst.TrailingWhitespace,
) -> cst.ParenthesizedWhitespace:
    """A gap that ends the line with ``first_line`` and starts the next argument's line.

    The next line is indented like ``sibling`` (a gap before another argument) when that one is
    a line break, else one ``indent`` deeper than ``fallback`` (the closing paren's line).
    """
    if isinstance(sibling, cst.ParenthesizedWhitespace):
        return sibling.with_changes(first_line=first_line, empty_lines=[])
    if isinstance(fallback, cst.ParenthesizedWhitespace):
        return fallback.with_changes(
            first_line=first_line,
            empty_lines=[],
            last_line=cst.SimpleWhitespace(fallback.last_line.value + indent),
        )
    return cst.ParenthesizedWhitespace(
        first_line=first_line, last_line=cst.SimpleWhitespace(indent)
    )


def _joined(
    before: cst.BaseParenthesizableWhitespace, after: cst.BaseParenthesizableWhitespace
) -> cst.BaseParenthesizableWhitespace:
    """The gap left when the argument between ``before`` and ``after`` is removed.

    The line end of ``before`` (the previous argument's comment) and the rest of ``after``
    (comment lines above the next argument, its indentation) stay.
    """
    if not isinstance(before, cst.ParenthesizedWhitespace):
        return (
            after.with_changes(first_line=cst.TrailingWhitespace())
            if isinstance(after, cst.ParenthesizedWhitespace)
            else after
        )
    if isinstance(after, cst.ParenthesizedWhitespace):
        return after.with_changes(first_line=before.first_line)
    if before.first_line.comment is not None:  # the closing paren moves below that comment
        return before.with_changes(empty_lines=[])
    return after


def _line_comment(gap: cst.BaseParenthesizableWhitespace) -> list[cst.Comment]:
    if isinstance(gap, cst.ParenthesizedWhitespace) and gap.first_line.comment is not None:
        return [gap.first_line.comment]
    return []


def _comments_on(lines: Sequence[cst.EmptyLine]) -> list[cst.Comment]:
    return [line.comment for line in lines if line.comment is not None]


class _CommentCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.comments: list[cst.Comment] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments.append(node)


def _comments_in_arg(arg: cst.Arg) -> list[cst.Comment]:
    """Comments inside ``arg`` itself (its value, ``=``, before its comma), not after it."""
    collector = _CommentCollector()
    if isinstance(arg.comma, cst.Comma):
        arg.with_changes(comma=cst.MaybeSentinel.DEFAULT).visit(collector)
        arg.comma.whitespace_before.visit(collector)
    else:  # its whitespace_after_arg is the gap after it
        arg.with_changes(whitespace_after_arg=_NO_SPACE).visit(collector)
    return collector.comments
