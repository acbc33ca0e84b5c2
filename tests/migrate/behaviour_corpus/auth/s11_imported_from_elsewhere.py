"""The dependency comes from a package outside the project: what it checks is unknown."""

from fastapi import APIRouter, Depends
from platform_auth.deps import get_current_user

router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user.user_id}


REFUSED = "not in the scanned project"
