"""Settings family: every required setting has a value, as the service itself loads them."""

from __future__ import annotations

from spaps_cli.fleet.findings import DoctorContext, Finding, check


@check("settings")
def settings_load(context: DoctorContext) -> list[Finding]:
    probe = context.probe
    if "probe_error" in probe:
        return [
            Finding(
                "settings.probe-failed",
                "error",
                str(probe["probe_error"]),
                "make the service importable in that interpreter (pip install -e .), or pass"
                " --python",
            )
        ]
    if "settings_error" in probe:
        return [
            Finding(
                "settings.unloadable",
                "error",
                f"the service's settings could not be loaded: {probe['settings_error']}",
                "fix the import error; doctor loads <package>.settings like the app does",
            )
        ]
    findings = [
        Finding(
            "settings.missing",
            "error",
            f"{name} has no value in the environment or .env",
            f"set {name} in the environment (or in .env; see .env.example)",
        )
        for name in probe.get("missing", [])
    ]
    findings += [
        Finding(
            "settings.invalid",
            "error",
            f"{item['setting']}: {item['message']}",
            f"fix {item['setting']} in the environment or .env",
        )
        for item in probe.get("invalid", [])
    ]
    if probe.get("env") == "prod":
        findings += [
            Finding(
                "settings.production",
                "error",
                f"env=prod would refuse to start: {problem}",
                "set the production value in the deployment environment",
            )
            for problem in probe.get("production_problems", [])
        ]
    return findings
