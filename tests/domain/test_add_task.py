"""``spaps add task``: the libcst edit of a domain's ``tasks.py`` and the rendered test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.errors import InvalidNameError, UsageError
from spaps_cli.generators.task import add_task

from .conftest import ruff, snapshot

TASKS = "src/billing_api/domains/billing/tasks.py"
TEST = "tests/domains/test_billing_task_send_invoice.py"

SNIPPET = textwrap.dedent(
    """\
    from collections.abc import Mapping
    from typing import Any

    from spaps_server_quickstart.tasks import create_notification_task

    from pkg.worker import celery_app


    def _ping_partner(payload: Mapping[str, Any]) -> dict[str, Any]:
        return dict(payload)


    #: the task
    ping_partner = create_notification_task(celery_app, _ping_partner, name="pkg.x.ping_partner")
    """
)


@pytest.fixture
def billing(service_root: Path, spaps: RunSpaps) -> Path:
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    return service_root


def test_adds_the_task_and_its_test(billing: Path, spaps: RunSpaps) -> None:
    result = spaps(
        "add", "task", "send_invoice", "--domain", "billing", "--dir", str(billing), "--json"
    )

    assert result.code == 0, result.stderr
    actions = {row["path"]: row["action"] for row in result.json()["files"]}
    assert actions == {TASKS: "update", TEST: "create"}
    tasks = (billing / TASKS).read_text()
    assert "from billing_api.worker import celery_app\n" in tasks
    assert "send_invoice = create_notification_task(\n" in tasks
    assert '    name="billing-api.billing.send_invoice",\n' in tasks
    compile(tasks, TASKS, "exec")
    test = (billing / TEST).read_text()
    assert "def test_send_invoice_runs_on_the_worker(celery_worker: Any)" in test


def test_rerun_is_identical_and_a_second_task_reuses_the_imports(
    billing: Path, spaps: RunSpaps
) -> None:
    args = ("--domain", "billing", "--dir", str(billing))
    assert spaps("add", "task", "send_invoice", *args).code == 0
    before = snapshot(billing)

    again = spaps("add", "task", "send_invoice", *args, "--json")
    assert again.code == 0
    assert {row["action"] for row in again.json()["files"]} == {"identical"}
    assert snapshot(billing) == before

    assert spaps("add", "task", "refund_invoice", *args).code == 0
    tasks = (billing / TASKS).read_text()
    assert tasks.count("from billing_api.worker import celery_app") == 1
    assert tasks.index("send_invoice = ") < tasks.index("refund_invoice = ")


def test_dry_run_writes_nothing(billing: Path, spaps: RunSpaps) -> None:
    before = snapshot(billing)

    result = spaps(
        "add", "task", "send_invoice", "--domain", "billing", "--dir", str(billing), "--dry-run"
    )

    assert result.code == 0
    assert "+def _send_invoice(payload: Mapping[str, Any]) -> dict[str, Any]:" in result.stdout
    assert snapshot(billing) == before


def test_a_different_task_of_that_name_is_a_clash(billing: Path, spaps: RunSpaps) -> None:
    tasks = billing / TASKS
    tasks.write_text(tasks.read_text() + "\n\ndef send_invoice() -> None:\n    pass\n")
    before = snapshot(billing)

    result = spaps("add", "task", "send_invoice", "--domain", "billing", "--dir", str(billing))

    assert result.code == 2
    assert "task 'send_invoice' already exists in this domain" in result.stderr
    assert snapshot(billing) == before


def test_unknown_domain_is_a_clear_error(billing: Path, spaps: RunSpaps) -> None:
    result = spaps("add", "task", "send_invoice", "--domain", "shop", "--dir", str(billing))

    assert result.code == 2
    assert "no domain 'shop' in this service (domains: billing)" in result.stderr
    assert "spaps add domain shop first" in result.stderr


def test_service_without_celery_is_a_clear_error(tmp_path: Path, spaps: RunSpaps) -> None:
    root = tmp_path / "lean-api"
    assert spaps("new", "service", "lean-api", "--no-celery", "--dir", str(root)).code == 0
    assert spaps("add", "domain", "billing", "--dir", str(root)).code == 0

    result = spaps("add", "task", "send_invoice", "--domain", "billing", "--dir", str(root))

    assert result.code == 2
    assert "has no Celery worker" in result.stderr


def test_missing_imports_are_added_next_to_existing_ones() -> None:
    source = '"""Tasks."""\n\nfrom __future__ import annotations\n\nfrom typing import Any\n\nX: Any = 1\n'

    edited, name = add_task(source, SNIPPET, "ping_partner", filename="tasks.py")

    assert name == "ping_partner"
    assert edited.count("from typing import Any") == 1
    assert "from collections.abc import Mapping" in edited
    assert "from pkg.worker import celery_app" in edited
    assert edited.endswith(
        'ping_partner = create_notification_task(celery_app, _ping_partner, name="pkg.x.ping_partner")\n'
    )
    compile(edited, "tasks.py", "exec")
    assert add_task(edited, SNIPPET, "ping_partner", filename="tasks.py") == (edited, name)


def test_a_fresh_module_gets_the_import_block_in_order() -> None:
    source = '"""Tasks."""\n\nfrom __future__ import annotations\n'

    edited, _ = add_task(source, SNIPPET, "ping_partner", filename="tasks.py")

    assert edited.startswith(
        '"""Tasks."""\n\nfrom __future__ import annotations\n\n'
        "from collections.abc import Mapping\nfrom typing import Any\n\n"
        "from spaps_server_quickstart.tasks import create_notification_task\n\n"
        "from pkg.worker import celery_app\n\n\ndef _ping_partner("
    )


def test_helper_name_taken_and_syntax_error() -> None:
    taken = "_ping_partner = 1\n"
    with pytest.raises(UsageError, match="the name _ping_partner is already used"):
        add_task(taken, SNIPPET, "ping_partner", filename="tasks.py")
    with pytest.raises(UsageError, match=r"^tasks.py:1: syntax error"):
        add_task("def (:\n", SNIPPET, "ping_partner", filename="tasks.py")
    with pytest.raises(InvalidNameError):
        add_task("ping_partner = 2\n", SNIPPET, "ping_partner", filename="tasks.py")


@pytest.mark.parametrize(
    "name",
    ["celery_app", "create_notification_task", "domain_modules", "expected", "result", "dict"],
)
def test_a_name_the_generated_code_uses_is_refused(
    billing: Path, spaps: RunSpaps, name: str
) -> None:
    """The snippet and the test bind or use these names: a task of that name breaks them."""
    before = snapshot(billing)

    result = spaps("add", "task", name, "--domain", "billing", "--dir", str(billing))

    assert result.code == 2
    assert f"invalid task name '{name}'" in result.stderr
    assert "a name the generated task module or its test already uses" in result.stderr
    assert snapshot(billing) == before


@pytest.mark.parametrize(
    "tasks",
    [
        pytest.param(
            "from __future__ import annotations\n\nimport logging\n\n"
            "from billing_api.domains.billing.service import BillingService\n\n"
            "logger = logging.getLogger(__name__)\nSERVICE = BillingService\n",
            id="stdlib-and-first-party",
        ),
        pytest.param(
            "import logging\nfrom typing import TYPE_CHECKING, cast\n\n"
            "logger = cast(logging.Logger, logging.getLogger(__name__))\n"
            "if TYPE_CHECKING:\n    pass\n",
            id="names-join-an-existing-line",
        ),
        pytest.param(
            "# the service's own helpers first\n"
            "from billing_api.domains.billing.service import BillingService\n\n"
            "SERVICE = BillingService\n",
            id="first-party-only-with-a-comment",
        ),
        pytest.param(
            "import logging\n\nimport sqlalchemy as sa\n\n"
            "from billing_api.domains.billing import service\n\n"
            "__all__ = [logging.__name__, sa.__name__, service.__name__]\n",
            id="import-lines-in-every-section",
        ),
    ],
)
def test_imports_added_to_existing_ones_pass_the_services_ruff(
    billing: Path, spaps: RunSpaps, tasks: str
) -> None:
    """Added imports go where isort puts them: the service's own ``ruff check`` stays clean."""
    (billing / TASKS).write_text(f'"""Billing tasks."""\n\n{tasks}')
    assert ruff(billing, "check", TASKS).returncode == 0

    for task in ("send_invoice", "refund_invoice"):
        result = spaps("add", "task", task, "--domain", "billing", "--dir", str(billing))
        assert result.code == 0, result.stderr

    for command in (["check"], ["format", "--check"]):
        lint = ruff(billing, *command, TASKS)
        assert lint.returncode == 0, lint.stdout + (billing / TASKS).read_text()
