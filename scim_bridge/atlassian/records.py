"""Small typed results of the Atlassian client."""

from __future__ import annotations

from dataclasses import dataclass

# Per-member error codes of the Teams API (the simulator's; Atlassian's own are unconfirmed).
ALREADY_A_MEMBER = "ALREADY_A_MEMBER"
NOT_A_MEMBER = "NOT_A_MEMBER"
USER_NOT_FOUND = "USER_NOT_FOUND"


@dataclass(frozen=True)
class MemberFailure:
    """One member a members/add or members/remove call refused."""

    account_id: str
    code: str
    message: str = ""
