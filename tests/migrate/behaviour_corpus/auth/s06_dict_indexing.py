"""SPAPS validation, but it returns a dict the endpoint indexes."""

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
    result = await client.validate_session()
    if not result.valid or result.session is None:
        raise HTTPException(status_code=401)
    return {"id": result.session.user_id}


router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user["id"]}


app = create_app(settings=make_settings(), routers=[router])
REFUSED = "uses user itself"
