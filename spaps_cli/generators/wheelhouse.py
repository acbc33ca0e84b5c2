"""The wheels a new service installs this project's runtime and CLI from (``wheels/``).

Neither ``spaps-server-quickstart`` (this project's, from 1.0) nor ``spaps-cli`` is on a package
index a fresh machine can reach, so ``spaps new service`` ships both into the service as wheel
files and points every installer at them: pip with ``--find-links wheels``, uv through path
sources in ``[tool.uv.sources]`` (relative, so ``uv.lock`` is valid in any clone, and hashed, so
nothing else can stand in for them), the Dockerfile and CI through ``uv.lock``. Where the wheels come from:

* the runtime: the wheel the CLI's own wheel carries as ``spaps_cli/wheels/*.whl`` (built from
  ``runtime/`` by ``hatch_build.py``); in a checkout, where there is none, the runtime installed
  next to the CLI (``pip install -e ./runtime``) is packed, provided it is this project's;
* the CLI: the running ``spaps_cli`` package is packed with its installed metadata, the runtime
  wheel included, so a service's own ``spaps`` can generate services in turn.

Packing is deterministic (sorted entries, fixed timestamps): the same CLI gives the same bytes,
so re-running ``spaps new service`` reports the wheels ``identical`` and ``uv.lock``'s hashes
stay valid.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from spaps_cli.errors import FileAccessError

#: Where the service keeps the wheels (and where pip's ``--find-links`` and uv's index point).
WHEELS_DIR = "wheels"

CLI_DISTRIBUTION = "spaps-cli"
RUNTIME_DISTRIBUTION = "spaps-server-quickstart"

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Inside the CLI's wheel: the runtime wheel its build hook put there.
PACKAGED_WHEELS = _PACKAGE_DIR / "wheels"

#: ZIP cannot store times before 1980; any fixed time makes the bytes reproducible.
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Wheel:
    """One wheel file: its PEP 427 file name and its bytes."""

    filename: str
    content: bytes

    @property
    def path(self) -> str:
        return f"{WHEELS_DIR}/{self.filename}"

    @property
    def distribution(self) -> str:
        """The project name as the file name spells it, in its usual dashed form."""
        return self.filename.split("-", 1)[0].replace("_", "-")


def service_wheels() -> list[Wheel]:
    """The runtime's and the CLI's wheels, for ``wheels/`` of a new service."""
    runtime = runtime_wheel()
    return [runtime, cli_wheel(runtime)]


def runtime_wheel() -> Wheel:
    """The runtime wheel the CLI carries, else the runtime installed from this checkout."""
    source = _runtime_source()
    if isinstance(source, Path):
        return Wheel(source.name, source.read_bytes())
    distribution, package = source
    return pack(distribution, {"spaps_server_quickstart": package})


def service_wheel_filenames() -> list[str]:
    """The file names :func:`service_wheels` gives, without packing a byte.

    For ``spaps update``: the template only names the wheels (in ``[tool.uv.sources]``), an
    update never writes ``wheels/``, and packing the CLI twice per update (once per render) was
    a third of its time.
    """
    source = _runtime_source()
    runtime = source.name if isinstance(source, Path) else wheel_filename(source[0])
    return [runtime, wheel_filename(metadata.distribution(CLI_DISTRIBUTION))]


def _runtime_source() -> Path | tuple[metadata.Distribution, Path]:
    """The runtime wheel the CLI carries, else the installed distribution and its package."""
    packaged = sorted(PACKAGED_WHEELS.glob("spaps_server_quickstart-*.whl"))
    if packaged:
        return packaged[-1]
    try:
        distribution = metadata.distribution(RUNTIME_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        distribution = None
    spec = importlib.util.find_spec("spaps_server_quickstart")  # finds it without importing
    if distribution is not None and _is_this_projects(distribution) and spec and spec.origin:
        return distribution, Path(spec.origin).resolve().parent
    raise FileAccessError(
        "no wheel of this project's runtime (spaps-server-quickstart) to put into wheels/",
        hint="install spaps-cli from its wheel (it carries the runtime's), or in a checkout"
        ' install the runtime next to it: pip install -e "./runtime[server]"',
    )


def wheel_filename(distribution: metadata.Distribution) -> str:
    """The PEP 427 file name :func:`pack` gives ``distribution``'s wheel."""
    return f"{_normalized(distribution)}-{distribution.version}-py3-none-any.whl"


def _normalized(distribution: metadata.Distribution) -> str:
    return re.sub(r"[-_.]+", "_", distribution.metadata["Name"]).lower()


def cli_wheel(runtime: Wheel) -> Wheel:
    """The running CLI as a wheel, templates and the runtime wheel inside."""
    from spaps_cli.generators.templates_location import CANDIDATES

    distribution = metadata.distribution(CLI_DISTRIBUTION)
    trees = {"spaps_cli": _PACKAGE_DIR}
    packaged_templates = _PACKAGE_DIR / "templates"
    if not packaged_templates.is_dir():  # a checkout: templates/ sits next to spaps_cli/
        trees["spaps_cli/templates"] = next(root for root in CANDIDATES if root.is_dir())
    extra = {f"spaps_cli/wheels/{runtime.filename}": runtime.content}
    return pack(distribution, trees, extra=extra)


def pack(
    distribution: metadata.Distribution,
    trees: dict[str, Path],
    *,
    extra: dict[str, bytes] | None = None,
) -> Wheel:
    """A pure-Python wheel of ``distribution``: ``trees`` (archive prefix -> directory) plus
    ``extra`` files, with the distribution's own METADATA and entry points."""
    dist_info = f"{_normalized(distribution)}-{distribution.version}.dist-info"
    entries: dict[str, bytes] = {}
    for prefix, root in trees.items():
        for path in _files(root):
            arcname = str(PurePosixPath(prefix, path.relative_to(root).as_posix()))
            entries.setdefault(arcname, path.read_bytes())
    entries.update(extra or {})
    metadata_text = distribution.read_text("METADATA")
    if metadata_text is None:
        raise FileAccessError(
            f"{distribution.metadata['Name']} is installed without METADATA",
            hint="reinstall it",
        )
    entries[f"{dist_info}/METADATA"] = metadata_text.encode("utf-8")
    entry_points = distribution.read_text("entry_points.txt")
    if entry_points:
        entries[f"{dist_info}/entry_points.txt"] = entry_points.encode("utf-8")
    entries[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: spaps-cli\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(
        f"{arcname},{_digest(data)},{len(data)}\n" for arcname, data in _sorted(entries)
    )
    entries[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, data in _sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return Wheel(wheel_filename(distribution), buffer.getvalue())


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRS for part in relative.parts):
            continue
        if path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES):
            yield path


def _sorted(entries: dict[str, bytes]) -> list[tuple[str, bytes]]:
    """dist-info last, as wheel tools write it (installers read METADATA from anywhere)."""
    return sorted(entries.items(), key=lambda item: (".dist-info/" in item[0], item[0]))


def _digest(data: bytes) -> str:
    encoded = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={encoded.decode('ascii')}"


def _is_this_projects(distribution: metadata.Distribution) -> bool:
    from spaps_cli.fleet.runtime_origin import is_this_projects

    return is_this_projects(list(distribution.metadata.get_all("Project-URL") or []))
