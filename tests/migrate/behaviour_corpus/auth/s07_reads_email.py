"""SPAPS validation; the endpoint reads an attribute AuthenticatedUser does not have."""

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
    return {"email": getattr(user, "email", None), "id": user.user_id, "idle": user.idle_minutes}


app = create_app(settings=make_settings(), routers=[router])
REFUSED = "user.idle_minutes"
