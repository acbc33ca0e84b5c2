"""A dependency validating the SPAPS session with spaps_client; the endpoint reads attributes."""

import os

from auth_support import make_settings
from fastapi import APIRouter, Depends, Header, HTTPException
from spaps_client.sessions_async import AsyncSessionsClient
from spaps_server_quickstart import create_app


async def get_current_user(authorization: str = Header()):
    client = AsyncSessionsClient(
        base_url=os.environ["SPAPS_API_URL"],
        api_key=os.environ["SPAPS_API_KEY"],
        access_token=authorization.removeprefix("Bearer "),
    )
    try:
        result = await client.validate_session()
    finally:
        await client.aclose()
    if not result.valid or result.session is None:
        raise HTTPException(status_code=401, detail="invalid session")
    return result.session


router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user.user_id, "tier": user.tier, "app": user.application_id}


app = create_app(settings=make_settings(), routers=[router])
REQUESTS = [
    ("GET", "/me", {"Authorization": "Bearer {user}"}),
    ("GET", "/me", {"Authorization": "Bearer {admin}"}),
    ("GET", "/me", {}),
    ("GET", "/me", {"Authorization": "Bearer not-a-session"}),
]
