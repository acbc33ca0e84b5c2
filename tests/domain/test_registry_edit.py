"""The router-registry edit as a spec: each case is a registry before and after, or an error.

Pairs in the django-upgrade style: ``check_transformed(before, after)`` also proves that a second
run on ``after`` changes nothing, ``check_noop(src)`` that an already registered router is left
alone, ``check_error(src, fragment)`` that an unsafe file stops with a one-line message.
"""

from __future__ import annotations

import textwrap

import pytest

from spaps_cli.errors import UsageError
from spaps_cli.generators.registry_edit import (
    RouterRegistration,
    _assert_compiles,
    edit_with_libcst,
    register_router,
)
from spaps_cli.generators.registry_lines import insert_by_lines

PACKAGE = "billing_api"
FILENAME = "src/billing_api/api/registry.py"
USERS = RouterRegistration.for_domain(PACKAGE, "users")


def _edit(source: str, registration: RouterRegistration = USERS) -> str:
    return register_router(
        source,
        registration,
        filename=FILENAME,
        registry_module=f"{PACKAGE}.api.registry",
    )


def check_transformed(before: str, after: str, registration: RouterRegistration = USERS) -> None:
    before, after = textwrap.dedent(before), textwrap.dedent(after)
    assert _edit(before, registration) == after
    assert _edit(after, registration) == after, "second run must be a no-op"


def check_noop(source: str, registration: RouterRegistration = USERS) -> None:
    source = textwrap.dedent(source)
    assert _edit(source, registration) == source


def check_error(source: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        _edit(textwrap.dedent(source))
    message = caught.value.message
    assert fragment in message
    assert message.startswith(FILENAME)
    assert "\n" not in message


TEMPLATE = '''\
    """Every router the service serves, in one place."""

    from __future__ import annotations

    from fastapi import FastAPI

    from billing_api.api.health import router as health_router


    def register_routers(app: FastAPI) -> None:
        app.include_router(health_router)
'''

TRANSFORMED = [
    pytest.param(
        TEMPLATE,
        '''\
        """Every router the service serves, in one place."""

        from __future__ import annotations

        from fastapi import FastAPI

        from billing_api.api.health import router as health_router
        from billing_api.domains.users.router import router as users_router


        def register_routers(app: FastAPI) -> None:
            app.include_router(health_router)
            app.include_router(users_router)
        ''',
        id="generated-registry",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        # Domains, one per line.
        from billing_api.domains.billing.router import router as billing_router  # money


        def register_routers(app: FastAPI) -> None:
            # public first
            app.include_router(billing_router, prefix="/v1")  # versioned

            # the end
        """,
        """\
        from fastapi import FastAPI

        # Domains, one per line.
        from billing_api.domains.billing.router import router as billing_router  # money
        from billing_api.domains.users.router import router as users_router


        def register_routers(app: FastAPI) -> None:
            # public first
            app.include_router(billing_router, prefix="/v1")  # versioned
            app.include_router(users_router)

            # the end
        """,
        id="comments-and-blank-lines-kept",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        # Domains, one per line.
        from billing_api.domains.zoo.router import router as zoo_router


        def register_routers(app: FastAPI) -> None:
            app.include_router(zoo_router)
        """,
        """\
        from fastapi import FastAPI

        # Domains, one per line.
        from billing_api.domains.users.router import router as users_router
        from billing_api.domains.zoo.router import router as zoo_router


        def register_routers(app: FastAPI) -> None:
            app.include_router(zoo_router)
            app.include_router(users_router)
        """,
        id="import-in-sorted-position-comment-stays-on-top",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from billing_api.domains.users.router import router as people


        def register_routers(app: FastAPI) -> None:
            pass
        """,
        """\
        from fastapi import FastAPI

        from billing_api.domains.users.router import router as people


        def register_routers(app: FastAPI) -> None:
            app.include_router(people)
        """,
        id="aliased-import-reused-pass-replaced",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from billing_api.domains.users import router as users_routes


        def register_routers(application: FastAPI) -> None:
            application.include_router(health)
        """,
        """\
        from fastapi import FastAPI

        from billing_api.domains.users import router as users_routes


        def register_routers(application: FastAPI) -> None:
            application.include_router(health)
            application.include_router(users_routes.router)
        """,
        id="module-import-with-alias-and-other-app-name",
    ),
    pytest.param(
        """\
        import billing_api.domains.users.router
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            app.include_router(health)
        """,
        """\
        import billing_api.domains.users.router
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            app.include_router(health)
            app.include_router(billing_api.domains.users.router.router)
        """,
        id="plain-dotted-import-reused",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from ..domains.users import router


        def register_routers(app: FastAPI) -> None:
            app.include_router(health)
        """,
        """\
        from fastapi import FastAPI

        from ..domains.users import router


        def register_routers(app: FastAPI) -> None:
            app.include_router(health)
            app.include_router(router.router)
        """,
        id="relative-import-reused",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from billing_api.api.health import router as health_router
        from billing_api.settings import get_settings


        def register_routers(app: FastAPI) -> None:
            app.include_router(health_router)
            if get_settings().debug:
                app.include_router(debug_router)
            return None
        """,
        """\
        from fastapi import FastAPI

        from billing_api.api.health import router as health_router
        from billing_api.domains.users.router import router as users_router
        from billing_api.settings import get_settings


        def register_routers(app: FastAPI) -> None:
            app.include_router(health_router)
            app.include_router(users_router)
            if get_settings().debug:
                app.include_router(debug_router)
            return None
        """,
        id="if-block-in-function-include-lands-unconditionally",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            if True:
                app.include_router(other_router)
            return None
        """,
        """\
        from fastapi import FastAPI
        from billing_api.domains.users.router import router as users_router


        def register_routers(app: FastAPI) -> None:
            if True:
                app.include_router(other_router)
            app.include_router(users_router)
            return None
        """,
        id="no-include-at-top-level-goes-before-return",
    ),
    pytest.param(
        """\
        \"\"\"Registry without imports.\"\"\"


        def register_routers(app): app.include_router(x)
        """,
        """\
        \"\"\"Registry without imports.\"\"\"

        from billing_api.domains.users.router import router as users_router


        def register_routers(app):
            app.include_router(x)
            app.include_router(users_router)
        """,
        id="one-line-function-and-no-imports",
    ),
    pytest.param(
        """\
        \"\"\"Registry with only a future import.\"\"\"

        from __future__ import annotations


        def register_routers(app):
            pass
        """,
        """\
        \"\"\"Registry with only a future import.\"\"\"

        from __future__ import annotations

        from billing_api.domains.users.router import router as users_router


        def register_routers(app):
            app.include_router(users_router)
        """,
        id="import-goes-after-docstring-and-future-import",
    ),
    pytest.param(
        """\
        from __future__ import annotations


        def register_routers(app):
            pass
        """,
        """\
        from __future__ import annotations

        from billing_api.domains.users.router import router as users_router


        def register_routers(app):
            app.include_router(users_router)
        """,
        id="import-goes-after-future-import-without-docstring",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            from billing_api.domains.users.router import router as users_router  # lazy

            app.include_router(health)
        """,
        """\
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            from billing_api.domains.users.router import router as users_router  # lazy

            app.include_router(health)
            app.include_router(users_router)
        """,
        id="import-inside-function-reused",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            app.include_router(health)
            from billing_api.domains.users.router import router as users_router
        """,
        """\
        from fastapi import FastAPI


        def register_routers(app: FastAPI) -> None:
            app.include_router(health)
            from billing_api.domains.users.router import router as users_router
            app.include_router(users_router)
        """,
        id="import-inside-function-after-the-includes-include-goes-below-it",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from billing_api.domains.users.router import router
        from billing_api.api import health


        def register_routers(app: FastAPI) -> None:
            app.include_router(health.router)
        """,
        """\
        from fastapi import FastAPI

        from billing_api.domains.users.router import router
        from billing_api.api import health


        def register_routers(app: FastAPI) -> None:
            app.include_router(health.router)
            app.include_router(router)
        """,
        id="attribute-named-router-is-not-our-router",
    ),
]


@pytest.mark.parametrize(("before", "after"), TRANSFORMED)
def test_transformed(before: str, after: str) -> None:
    check_transformed(before, after)


NOOP = [
    pytest.param(
        """\
        from fastapi import FastAPI

        from billing_api.domains.users.router import router as users_router


        def register_routers(app: FastAPI) -> None:
            app.include_router(users_router)
        """,
        id="already-registered",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from billing_api.domains.users.router import router as people


        def register_routers(app: FastAPI) -> None:
            app.include_router(people, prefix="/people", tags=["people"])
        """,
        id="registered-by-hand-with-alias-and-options",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from billing_api.domains import users


        def register_routers(app: FastAPI) -> None:
            app.include_router(router=users.router.router)
        """,
        id="registered-through-package-keyword-argument",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from billing_api.domains.users.router import router as users_router
        from billing_api.settings import settings


        def register_routers(app: FastAPI) -> None:
            if settings.users_enabled:
                app.include_router(users_router)
        """,
        id="registered-inside-if",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from billing_api.domains.users import router as users_module
        from billing_api.domains.zoo import router as zoo_module

        ROUTERS = (users_module.router, zoo_module.router)


        def register_routers(app: FastAPI) -> None:
            for router in ROUTERS:
                app.include_router(router)
        """,
        id="registered-through-a-list",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        if True:
            from billing_api.domains.users.router import router as users_router


        def register_routers(app: FastAPI) -> None:
            if True:
                app.include_router(users_router)
        """,
        id="conditional-import-and-conditional-include",
    ),
]


@pytest.mark.parametrize("source", NOOP)
def test_noop(source: str) -> None:
    check_noop(source)


ERRORS = [
    pytest.param(
        """\
        def register_routers(app):
            app.include_router(x
        """,
        f"{FILENAME}:2: syntax error",
        id="syntax-error",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        def setup(app: FastAPI) -> None:
            app.include_router(x)
        """,
        "no module-level register_routers(app)",
        id="no-registry-function",
    ),
    pytest.param(
        """\
        import os

        if os.environ.get("LEGACY"):
            def register_routers(app):
                app.include_router(a)
        else:
            def register_routers(app):
                app.include_router(b)
        """,
        f"{FILENAME}:4: register_routers() is defined inside a block",
        id="registry-inside-if-blocks",
    ),
    pytest.param(
        """\
        def register_routers(app):
            app.include_router(a)


        def register_routers(app):
            app.include_router(b)
        """,
        f"{FILENAME}:5: register_routers() is defined 2 times",
        id="defined-twice",
    ),
    pytest.param(
        """\
        def register_routers():
            pass
        """,
        "takes no app parameter",
        id="no-app-parameter",
    ),
    pytest.param(
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from billing_api.domains.users.router import router as users_router


        def register_routers(app):
            app.include_router(health)
        """,
        f"{FILENAME}:4: billing_api.domains.users.router is imported only inside a block",
        id="router-imported-only-conditionally",
    ),
    pytest.param(
        """\
        from billing_api.legacy import users as users_router


        def register_routers(app):
            app.include_router(users_router)
        """,
        f"{FILENAME}:1: the name users_router is already imported from billing_api.legacy.users",
        id="alias-taken-by-another-import",
    ),
    pytest.param(
        """\
        users_router = None


        def register_routers(app):
            app.include_router(health)
        """,
        f"{FILENAME}:1: the name users_router is already defined",
        id="alias-taken-by-an-assignment",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from billing_api.domains.users.router import *


        def register_routers(app: FastAPI) -> None:
            app.include_router(router)
        """,
        f"{FILENAME}:3: billing_api.domains.users.router is star-imported",
        id="router-star-imported",
    ),
    pytest.param(
        """\
        from ..domains.users.router import *


        def register_routers(app):
            pass
        """,
        f"{FILENAME}:1: billing_api.domains.users.router is star-imported",
        id="router-star-imported-relatively",
    ),
]


@pytest.mark.parametrize(("source", "fragment"), ERRORS)
def test_error(source: str, fragment: str) -> None:
    check_error(source, fragment)


def test_errors_leave_no_partial_result_and_two_domains_stack() -> None:
    """Registering users, then admin, then users again: both present once, in order."""
    once = _edit(textwrap.dedent(TEMPLATE))
    admin = RouterRegistration.for_domain(PACKAGE, "admin")
    twice = _edit(once, admin)
    assert _edit(twice, USERS) == twice
    assert twice.count("include_router(users_router)") == 1
    assert twice.count("include_router(admin_router)") == 1
    assert twice.index("domains.admin.router") < twice.index("domains.users.router")
    assert twice.index("include_router(users_router)") < twice.index("include_router(admin_router)")


def test_safety_net_compiles_for_real() -> None:
    """A misplaced ``from __future__`` import parses as an AST but does not compile."""
    with pytest.raises(UsageError, match="produced invalid code"):
        _assert_compiles("import os\nfrom __future__ import annotations\n", FILENAME)


# The line edit (registry_lines) must give libcst's bytes wherever it answers. ``orders`` occurs
# in none of the sources above, so the line edit answers for most of them; ``users`` in most.
ORDERS = RouterRegistration.for_domain(PACKAGE, "orders")

LAYOUTS = [
    pytest.param(
        """\
        from billing_api.api.health import router as health_router


        def register_routers(app):
            app.include_router(health_router)
        from billing_api.zoo import router as zoo_router
        """,
        id="import-right-below-the-function",
    ),
    pytest.param(
        """\
        import os
        from billing_api.zoo import router as zoo_router  # zoo \\


        def register_routers(app):
            x = 1 + \\
                2
            app.include_router(zoo_router)  # last \\
            # trailing comment

        # after the function
        """,
        id="backslashes-in-comments-and-continuations",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router


        def register_routers(app):
            \"\"\"Docstring.\"\"\"
            for router in [zoo_router]:
                app.include_router(router)
                # inside the loop
            # after the loop
        """,
        id="compound-statement-last",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router


        def register_routers(app):
            \"\"\"Docstring.\"\"\"
            ...
        """,
        id="docstring-and-ellipsis",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router; import os


        def register_routers(app):
            app.include_router(zoo_router); app.include_router(os)
        """,
        id="semicolons",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router


        @decorated
        def register_routers(
            app,  # the application
        ):
        \tapp.include_router(zoo_router)
        \treturn None
        """,
        id="tabs-decorator-multiline-signature-return",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router


        def register_routers(app):
            return app.include_router(zoo_router)
        """,
        id="only-a-return",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router
        from billing_api.aaa import x


        async def register_routers(app):
            app.include_router(zoo_router)
        """,
        id="async-function-and-unsorted-imports",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router


        def register_routers(app):
            app.include_router(zoo_router)
        """.replace("\n", "\r\n"),
        id="crlf",
    ),
    pytest.param(
        """\
        \f
        from billing_api.zoo import router as zoo_router  # \u2028 \x85 \v


        def register_routers(app):
            app.include_router(zoo_router)  # \f
            \"\"\"\u2029\"\"\"
        """,
        id="form-feeds-and-unicode-line-separators",
    ),
    pytest.param(
        """\
        from billing_api.zoo import router as zoo_router


        def register_routers(app):
        \f    app.include_router(zoo_router)
        """,
        id="form-feed-in-the-indentation",
    ),
    pytest.param(
        """\
        from . import health
        from billing_api.domains.orders_old import router as old


        def register_routers(app):
            app.include_router(health.router)
        """,
        id="domain-name-only-as-a-prefix-of-another",
    ),
]


def _sources() -> list[str]:
    cases = [*TRANSFORMED, *NOOP, *LAYOUTS]
    return [textwrap.dedent(case.values[0]) for case in cases]  # type: ignore[arg-type]


@pytest.mark.parametrize("registration", [USERS, ORDERS], ids=["users", "orders"])
def test_line_edit_agrees_with_libcst_wherever_it_answers(
    registration: RouterRegistration,
) -> None:
    answered = 0
    for source in _sources():
        by_lines = insert_by_lines(
            source,
            registration,
            function_name="register_routers",
            registry_module=f"{PACKAGE}.api.registry",
            line_length=88,
        )
        if by_lines is None:
            continue
        answered += 1
        by_libcst = edit_with_libcst(
            source, registration, filename=FILENAME, registry_module=f"{PACKAGE}.api.registry"
        )
        assert by_lines == by_libcst, source
    # Not vacuous: the template and most hand-edited layouts take the line edit for a new domain.
    assert answered >= (3 if registration is USERS else 15)


def test_line_edit_answers_for_the_generated_registry_and_wraps_long_imports() -> None:
    """The registry every service starts with never pays for importing libcst."""
    source = textwrap.dedent(TEMPLATE)
    long = RouterRegistration.for_domain(PACKAGE, "a_domain_name_long_enough_to_wrap_the_import")
    for registration, line_length in [(USERS, 88), (long, 88), (USERS, 40)]:
        by_lines = insert_by_lines(
            source,
            registration,
            function_name="register_routers",
            registry_module=f"{PACKAGE}.api.registry",
            line_length=line_length,
        )
        assert by_lines is not None
        assert by_lines == edit_with_libcst(
            source,
            registration,
            filename=FILENAME,
            registry_module=f"{PACKAGE}.api.registry",
            line_length=line_length,
        )
    assert "import (\n    router as users_router,\n)\n" in (
        insert_by_lines(
            source,
            USERS,
            function_name="register_routers",
            registry_module=f"{PACKAGE}.api.registry",
            line_length=40,
        )
        or ""
    )


_MODULE_PIECES = [
    '"""Doc."""\n',
    "from __future__ import annotations\n",
    "import os\n",
    "from fastapi import FastAPI\n",
    "from billing_api.api.meta import router as meta_router\n",
    "from billing_api.zzz import router as zzz_router  # tail\n",
    "from billing_api.domains.aaa.router import router as aaa_router\n",
    "from . import health\n",
    "from billing_api.api import (\n    health as h,\n)\n",
    "# a comment\n",
    "\n",
    "\n\n",
    "X = 1\n",
    "if os.environ:\n    import sys\n",
    "try:\n    import json\nexcept ImportError:\n    json = None\n",
    "import billing_api.domains.other.router\n",
    "from billing_api.domains.zzz import router as zr\n",
]
_BODY_PIECES = [
    "    app.include_router(meta_router)\n",
    "    app.include_router(aaa_router, prefix='/a')  # x\n",
    "    # comment\n",
    "\n",
    "    x = 1\n",
    "    if x:\n        app.include_router(zzz_router)\n",
    "    return None\n",
    "    pass\n",
    "    app.include_router(\n        zzz_router,\n    )\n",
    "    for r in []:\n        app.include_router(r)\n    # after for\n",
    '    """Doc."""\n',
    "    import json\n",
    "    app.include_router(h.router)  # \\\n",
]


def test_line_edit_agrees_with_libcst_on_generated_registries() -> None:
    """Seeded random registries built from the pieces people keep in them."""
    import random

    pick = random.Random(16)
    answered = 0
    for _ in range(400):
        source = (
            "".join(pick.sample(_MODULE_PIECES, pick.randint(0, 7)))
            + pick.choice(["\n\n", "\n", "", "# lead\n"])
            + pick.choice(
                [
                    "def register_routers(app: FastAPI) -> None:\n",
                    "def register_routers(\n    app,\n):\n",
                    "def register_routers(app, /):\n",
                ]
            )
            + "".join(pick.sample(_BODY_PIECES, pick.randint(1, 5)))
            + pick.choice(["", "\n# end\n", "\n\nY = 2\n", "from billing_api.aaa import q\n"])
        )
        try:
            compile(source, FILENAME, "exec")
        except SyntaxError:
            continue
        for registration, line_length in [(USERS, 88), (ORDERS, 40)]:
            by_lines = insert_by_lines(
                source,
                registration,
                function_name="register_routers",
                registry_module=f"{PACKAGE}.api.registry",
                line_length=line_length,
            )
            if by_lines is None:
                continue
            answered += 1
            assert by_lines == edit_with_libcst(
                source,
                registration,
                filename=FILENAME,
                registry_module=f"{PACKAGE}.api.registry",
                line_length=line_length,
            ), source
    assert answered >= 100
