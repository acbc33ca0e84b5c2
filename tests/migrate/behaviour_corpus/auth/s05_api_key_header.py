"""An API key header check named get_current_user: kept and reported."""

from fastapi import APIRouter, Depends, Header, HTTPException

KEYS = {"k-1": "service-a"}


def get_current_user(x_api_key: str = Header()):
    if x_api_key not in KEYS:
        raise HTTPException(status_code=401)
    return KEYS[x_api_key]


router = APIRouter()


@router.get("/who")
async def who(caller=Depends(get_current_user)):
    return {"caller": caller}


REFUSED = "checks a header or an API key"
