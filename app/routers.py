"""Every domain router mounted under /api/v1, in the order the docs list them."""

from fastapi import APIRouter

API_ROUTERS: list[APIRouter] = []

from app.jurisdiction.router import router as jurisdiction_router  # noqa: E402

API_ROUTERS.append(jurisdiction_router)

from app.auth.router import router as auth_router  # noqa: E402

API_ROUTERS.append(auth_router)

from app.matrix.router import router as matrix_router  # noqa: E402

API_ROUTERS.append(matrix_router)
