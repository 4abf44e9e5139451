"""Who may export or erase a person: RevOps admins (and superusers). Kept as one function so a reworked role model
changes one line."""

from revops.base.roles import ROLE_REVOPS_ADMIN


def privacy_allowed(user) -> bool:
    """Whether ``user`` may make privacy requests (export or erase a person)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=ROLE_REVOPS_ADMIN).exists()
