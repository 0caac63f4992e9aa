"""Smoke test of the generated Python client against a running acs-auth (`acs-auth dev`):
getToken 201 then 200, getUser, deleteUser 204, and one error decoded as a typed Problem.

Usage: ACS_AUTH_URL=http://127.0.0.1:8080 ACS_AUTH_TOKEN=<dev token> python smoke.py
"""

from __future__ import annotations

import os
import re
import sys

from acs_auth_client import AuthenticatedClient
from acs_auth_client.api.tokens import delete_user, get_token, get_user
from acs_auth_client.models import (
    AcsScope,
    GetTokenRequest,
    Problem,
    ProblemCode,
    TokenResponse,
    UserResponse,
)


def main() -> int:
    client = AuthenticatedClient(
        base_url=os.environ["ACS_AUTH_URL"], token=os.environ["ACS_AUTH_TOKEN"]
    )
    tenant = os.environ.get("ACS_AUTH_TENANT", "dev")

    first = get_token.sync_detailed(
        tenant,
        client=client,
        body=GetTokenRequest(scopes=[AcsScope.CHAT, AcsScope.VOIP], expires_in_minutes=60),
    )
    assert first.status_code == 201, f"first getToken: {first.status_code}"
    token = first.parsed
    assert isinstance(token, TokenResponse), token
    user_id = token.user.communication_user_id
    assert user_id.startswith("8:acs:"), user_id
    stamp = first.content.decode()
    assert re.search(r'"expiresOn":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"', stamp), stamp

    again = get_token.sync_detailed(tenant, client=client)
    assert again.status_code == 200, f"second getToken: {again.status_code}"
    assert isinstance(again.parsed, TokenResponse)
    assert again.parsed.user.communication_user_id == user_id

    user = get_user.sync_detailed(tenant, client=client)
    assert user.status_code == 200, f"getUser: {user.status_code}"
    assert isinstance(user.parsed, UserResponse)
    assert user.parsed.communication_user_id == user_id

    refused = get_token.sync_detailed(
        tenant, client=client, body=GetTokenRequest(expires_in_minutes=30)
    )
    assert refused.status_code == 400, f"a lifetime below 60: {refused.status_code}"
    problem = refused.parsed
    assert isinstance(problem, Problem), problem
    assert problem.code is ProblemCode.INVALID_BODY, problem.code
    assert isinstance(problem.errors, list) and problem.errors[0].field == "expiresInMinutes"

    deleted = delete_user.sync_detailed(tenant, client=client)
    assert deleted.status_code == 204, f"deleteUser: {deleted.status_code}"
    gone = get_user.sync_detailed(tenant, client=client)
    assert isinstance(gone.parsed, Problem) and gone.parsed.code is ProblemCode.USER_NOT_FOUND

    print(f"python client: ok ({user_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
