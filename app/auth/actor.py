"""Who is making a request: a user with one role bound to a scope, or an API-key client —
or the service itself (``SYSTEM``: the SLA sweep taking a ticket up the ladder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.auth.models import Role


@dataclass(frozen=True, slots=True)
class Actor:
    kind: Literal["user", "api_key", "system"]
    id: int
    role: Role
    name: str
    # The tree node the actor is bound to and its level (dispatchers, supervisors,
    # integration keys); None for department roles and admins.
    jurisdiction_id: int | None = None
    scope_level: str | None = None
    department_id: int | None = None
    grid_ids: frozenset[int] = field(default_factory=frozenset)
    # The refresh-token family of the login an access token came from (None for API keys
    # and tokens minted without a login): revoking the family ends the token too.
    session_family: str | None = None
    # Signed in with an initial password: may only change it (``auth.deps``).
    must_change_password: bool = False

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None

    @property
    def api_key_id(self) -> int | None:
        return self.id if self.kind == "api_key" else None

    @property
    def owner_key(self) -> str:
        """A stable string naming this caller (idempotency keys are per caller)."""
        return f"{self.kind}:{self.id}"

    @property
    def role_name(self) -> str:
        """The role an event records: the actor's, or ``system``."""
        return "system" if self.kind == "system" else self.role.value


# The service acting by itself (the sweep's 上报). Its role is the read-only supervisor's so
# that, passed where a person's actor belongs, it holds no relation to any ticket and may
# take no action; the system's own path (``app.workflow.actions.take_system_action``)
# checks no relation. Events record it as ``system`` with no user or key.
SYSTEM = Actor(kind="system", id=0, role=Role.supervisor, name="system")
