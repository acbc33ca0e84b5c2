"""SPAPS validation on a plain FastAPI app: current_user has no auth service there."""

import os

from fastapi import Depends, FastAPI, Header, HTTPException
from spaps_client.sessions_async import AsyncSessionsClient


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


app = FastAPI()


@app.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user.user_id}


REFUSED = "create_app"
