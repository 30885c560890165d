"""Which nodes of the tree an actor may see.

- admin, and an integration key bound to no node: every street.
- department staff and leads: every street their department serves, whole.
- grid workers: their own grids.
- everyone else bound to a node (dispatchers, supervisors, integration keys bound to a
  node): that node and everything under it; bound to nothing: nothing.

Nodes in scope can be fetched on their own. Their ancestors are also *shown* in the tree,
marked ``in_scope: false`` and without geometry, so that the tree always reads street →
community → grid; a community dispatcher, for example, sees its street with only its own
community under it, and gets 404 for the street's code or a sibling community's.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.actor import Actor
from app.auth.models import Role
from app.jurisdiction.geo import JurisdictionTree

DEPARTMENT_ROLES = (Role.department_staff, Role.department_lead)


@dataclass(frozen=True, slots=True)
class Visibility:
    in_scope: frozenset[int]
    shown: frozenset[int]  # in_scope plus their ancestors


def visibility(tree: JurisdictionTree, actor: Actor,
               department_street_ids: set[int]) -> Visibility:
    roots = _scope_roots(tree, actor, department_street_ids)
    in_scope: set[int] = set()
    for root in roots:
        in_scope |= tree.subtree_ids(root)
    shown = set(in_scope)
    for root in roots:
        shown.update(tree.ancestor_ids(root))
    return Visibility(frozenset(in_scope), frozenset(shown))


def _scope_roots(tree: JurisdictionTree, actor: Actor,
                 department_street_ids: set[int]) -> list[int]:
    if actor.role is Role.admin or (actor.role is Role.integration
                                    and actor.jurisdiction_id is None):
        return [s.id for s in tree.streets()]
    if actor.role in DEPARTMENT_ROLES:
        return sorted(department_street_ids)
    if actor.role is Role.grid_worker:
        return sorted(actor.grid_ids)
    return [actor.jurisdiction_id] if actor.jurisdiction_id is not None else []
