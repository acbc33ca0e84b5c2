"""An admin guard on top of the SPAPS user: the session tier must be admin."""

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


async def require_admin(user=Depends(get_current_user)):
    if user.tier != "admin":
        raise HTTPException(status_code=403, detail="admins only")
    return user


router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user.user_id}


@router.delete("/me", dependencies=[Depends(require_admin)])
async def wipe():
    return {"wiped": True}


app = create_app(settings=make_settings(), routers=[router])
REQUESTS = [
    ("GET", "/me", {"Authorization": "Bearer {user}"}),
    ("GET", "/me", {"Authorization": "Bearer {admin}"}),
    ("GET", "/me", {}),
    ("GET", "/me", {"Authorization": "Bearer not-a-session"}),
    ("DELETE", "/me", {"Authorization": "Bearer {user}"}),
    ("DELETE", "/me", {"Authorization": "Bearer {admin}"}),
]
