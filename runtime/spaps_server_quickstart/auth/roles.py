"""Role names and the one rule that turns a validated session into roles.

Keep every role decision here: the middleware, the local dev signer and the docs all point at
:func:`derive_roles`, so "who is an admin" has exactly one answer. Roles SPAPS does not state
(``labs``, ``support``) come from the service's account hook and are added by
:func:`grant_roles`, the rule's one extension point, never by a domain's own logic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

USER = "user"
ADMIN = "admin"

#: Session tiers that SPAPS uses for administrators.
ADMIN_TIERS = frozenset({ADMIN})


def normalize_role(role: str) -> str:
    """The one spelling of a role: trimmed and lower-cased, so ``"Support "`` is ``"support"``.

    Used on both sides of the comparison (the roles a caller has and the roles a route
    requires), so the two can never disagree on spelling.
    """
    return role.strip().lower()


def derive_roles(
    *,
    user_id: str,
    tier: str | None,
    explicit_roles: Iterable[str] | None = None,
    admin_user_ids: Collection[str] = (),
) -> frozenset[str]:
    """Roles of a caller whose token was already validated.

    The rule, in order:

    1. Everyone authenticated gets ``"user"``.
    2. ``"admin"`` is added when the session tier is ``"admin"`` (case-insensitive) or the
       user id is listed in ``settings.auth_admin_user_ids`` (exact, case-sensitive match:
       SPAPS user ids are opaque identifiers, not e-mail addresses).
    3. Any roles SPAPS states explicitly in the validate payload (a ``roles`` list on the
       result, the session or the user) are added as given, stripped and lower-cased.

    4. Roles the service grants in its account hook
       (:class:`~spaps_server_quickstart.auth.accounts.AccountStanding` ``roles``, passed to
       ``create_app(account_hook=...)``) are added on every authenticated request by
       :func:`grant_roles`, spelled the same way. This is the one place a service extends the
       rule; it sees the roles derived here and may only add to them.

    Roles are only ever added, never removed: an explicit list without ``"user"`` still yields
    ``"user"``. We deliberately do **not** use ``spaps_client.permissions.is_admin_account``:
    it hard-codes a default admin e-mail and wallets, which no service should inherit.
    """
    roles = {USER}
    if tier is not None and normalize_role(tier) in ADMIN_TIERS:
        roles.add(ADMIN)
    if user_id in admin_user_ids:
        roles.add(ADMIN)
    for role in explicit_roles or ():
        cleaned = normalize_role(role)
        if cleaned:
            roles.add(cleaned)
    return frozenset(roles)


def grant_roles(roles: frozenset[str], granted: Iterable[str]) -> frozenset[str]:
    """Step 4 of :func:`derive_roles`: ``roles`` plus those the service's account hook grants.

    Normalised like every other role, so a hook granting ``"Labs"`` satisfies
    ``require_roles("labs")``; blank names are dropped rather than granted.
    """
    added = {normalize_role(role) for role in granted} - {""}
    return roles | added if added else roles
