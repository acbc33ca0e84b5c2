"""A correlation-id middleware on an app create_app builds: the runtime already installs one."""

import uuid

from fastapi import Request
from spaps_server_quickstart import create_app
from spaps_server_quickstart.settings import BaseServiceSettings

app = create_app(settings=BaseServiceSettings(auth_mode="disabled"))


@app.middleware("http")
async def correlate(request: Request, call_next):
    correlation_id = request.headers.get("X-Correlation-ID") or uuid.uuid4().hex
    response = await call_next(request)
    response.headers["X-Correlation-ID"] = correlation_id
    return response


REFUSED = 'REQUEST_ID_HEADER="X-Correlation-ID"'
