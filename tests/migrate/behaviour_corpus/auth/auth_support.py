"""Settings for the auth shapes: SPAPS auth against the stand-in the test serves."""

from __future__ import annotations

import os

from spaps_server_quickstart.settings import BaseServiceSettings


def make_settings() -> BaseServiceSettings:
    return BaseServiceSettings(
        auth_mode="spaps",
        spaps_api_url=os.environ["SPAPS_API_URL"],
        spaps_api_key=os.environ["SPAPS_API_KEY"],
        spaps_application_id=os.environ["SPAPS_APPLICATION_ID"],
        log_level="WARNING",
    )
