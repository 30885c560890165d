"""Every domain router mounted under /api/v1, in the order the docs list them."""

from fastapi import APIRouter

API_ROUTERS: list[APIRouter] = []
