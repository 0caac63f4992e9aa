#!/usr/bin/env python3
"""Interop check: the official Python SDK (azure-communication-identity) against the acs-auth
ACS emulator, with the sync client and the async (aiohttp) client.

Environment:
  ACS_CONNECTION_STRING  the emulator's HTTPS connection string (the SDK forces https://)
  ACS_CERT_PATH          the emulator's self-signed cert.pem
The sync client (requests) trusts the certificate through REQUESTS_CA_BUNDLE; the async client
(aiohttp) through `connection_verify=<cert.pem>` (azure-core builds an SSL context from it).
This script points REQUESTS_CA_BUNDLE and SSL_CERT_FILE at ACS_CERT_PATH (overriding any
system bundle: it only talks to the emulator).

Exits 0 when every check passes; prints what failed otherwise.
"""

import asyncio
import base64
import json
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

CONN = os.environ.get("ACS_CONNECTION_STRING", "")
CERT = os.environ.get("ACS_CERT_PATH", "")
if not CONN.lower().startswith("endpoint=https://") or not CERT:
    sys.exit("set ACS_CONNECTION_STRING (https) and ACS_CERT_PATH")
os.environ["REQUESTS_CA_BUNDLE"] = CERT
os.environ["SSL_CERT_FILE"] = CERT

from azure.communication.identity import (  # noqa: E402
    CommunicationIdentityClient,
    CommunicationTokenScope,
    CommunicationUserIdentifier,
)
from azure.communication.identity.aio import (  # noqa: E402
    CommunicationIdentityClient as AsyncCommunicationIdentityClient,
)
from azure.core.exceptions import HttpResponseError  # noqa: E402

SCOPES = [CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP]


def claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def expires_on(token):
    # azure-communication-identity 1.5.0 hands back `expiresOn` as the raw string
    # (`2023-10-10T21:39:39.3244584+00:00`); accept a datetime or epoch seconds too.
    value = token.expires_on
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return value


def check_token(token, user_id, scopes, minutes):
    now = datetime.now(timezone.utc)
    assert token.token.count(".") == 2, "token is not a JWT"
    left = expires_on(token) - now
    assert timedelta(minutes=minutes - 1) < left <= timedelta(minutes=minutes), (
        f"expires_on {token.expires_on!r} is not ~{minutes} min from now"
    )
    c = claims(token.token)
    assert "8:" + c["skypeid"] == user_id, f"skypeid {c['skypeid']} != {user_id}"
    assert sorted(c["acsScope"].split(",")) == sorted(scopes), c["acsScope"]


def fake_teams_token(app_id, oid):
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    payload = {
        "aud": "https://auth.msft.communication.azure.com",
        "scp": "Teams.ManageCalls Teams.ManageChats",
        "appid": app_id,
        "oid": oid,
        "exp": int(time.time()) + 1800,
    }
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(payload)}.c2ln"


def expect_not_found(call, what):
    try:
        call()
    except HttpResponseError as e:
        assert e.status_code == 404, f"{what}: expected 404, got {e.status_code}"
        assert e.error is not None and e.error.code == "IdentityNotFound", f"{what}: {e.error}"
        return
    raise AssertionError(f"{what} on a deleted user did not raise")


def check_sync():
    client = CommunicationIdentityClient.from_connection_string(CONN)
    user = client.create_user()
    assert user.properties["id"].startswith("8:acs:"), user.properties
    print("sync: create_user", user.properties["id"])

    user2, token = client.create_user_and_token(SCOPES, token_expires_in=timedelta(hours=1))
    check_token(token, user2.properties["id"], ["chat", "voip"], 60)
    print("sync: create_user_and_token")

    token = client.get_token(user, [CommunicationTokenScope.CHAT])
    check_token(token, user.properties["id"], ["chat"], 1440)
    token = client.get_token(
        user, [CommunicationTokenScope.VOIP], token_expires_in=timedelta(minutes=90)
    )
    check_token(token, user.properties["id"], ["voip"], 90)
    print("sync: get_token")

    client.revoke_tokens(user)
    print("sync: revoke_tokens")

    app_id, oid = str(uuid.uuid4()), str(uuid.uuid4())
    teams = client.get_token_for_teams_user(fake_teams_token(app_id, oid), app_id, oid)
    assert claims(teams.token)["skypeid"] == f"orgid:{oid}"
    print("sync: get_token_for_teams_user")

    for u in (user, user2):
        client.delete_user(u)
    print("sync: delete_user")
    expect_not_found(lambda: client.get_token(user, SCOPES), "sync get_token")
    expect_not_found(
        lambda: client.get_token(CommunicationUserIdentifier(user2.properties["id"]), SCOPES),
        "sync get_token (second user)",
    )
    print("sync: get_token on a deleted user raises 404 IdentityNotFound")


async def check_async():
    async with AsyncCommunicationIdentityClient.from_connection_string(
        CONN, connection_verify=CERT
    ) as client:
        user = await client.create_user()
        print("async: create_user", user.properties["id"])

        user2, token = await client.create_user_and_token(
            SCOPES, token_expires_in=timedelta(hours=2)
        )
        check_token(token, user2.properties["id"], ["chat", "voip"], 120)
        print("async: create_user_and_token")

        token = await client.get_token(user, SCOPES)
        check_token(token, user.properties["id"], ["chat", "voip"], 1440)
        print("async: get_token")

        await client.revoke_tokens(user)
        print("async: revoke_tokens")

        app_id, oid = str(uuid.uuid4()), str(uuid.uuid4())
        teams = await client.get_token_for_teams_user(fake_teams_token(app_id, oid), app_id, oid)
        assert claims(teams.token)["skypeid"] == f"orgid:{oid}"
        print("async: get_token_for_teams_user")

        await client.delete_user(user)
        await client.delete_user(user2)
        print("async: delete_user")
        try:
            await client.get_token(user, SCOPES)
        except HttpResponseError as e:
            assert e.status_code == 404, f"async get_token: expected 404, got {e.status_code}"
            assert e.error is not None and e.error.code == "IdentityNotFound", e.error
        else:
            raise AssertionError("async get_token on a deleted user did not raise")
        print("async: get_token on a deleted user raises 404 IdentityNotFound")


def main():
    check_sync()
    asyncio.run(check_async())
    print("python SDK: all checks passed")


if __name__ == "__main__":
    main()
