"""Local JWT decoding: not SPAPS session validation, so kept and reported."""

import jwt
from fastapi import APIRouter, Depends, Header, HTTPException

SECRET = "local-secret"


async def get_current_user(authorization: str = Header()):
    try:
        return jwt.decode(authorization.removeprefix("Bearer "), SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(status_code=401) from None


router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user["sub"]}


REFUSED = "decodes a token locally"
