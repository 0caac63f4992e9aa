from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.verify_token_report import VerifyTokenReport
from ...models.verify_token_request import VerifyTokenRequest
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: VerifyTokenRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/tenants/{id}/verifyToken".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | VerifyTokenReport | None:
    if response.status_code == 200:
        response_200 = VerifyTokenReport.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | VerifyTokenReport]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: VerifyTokenRequest,

) -> Response[Problem | VerifyTokenReport]:
    """ Dry-run a user's token against a tenant

     Every check the tenant's provider and access policy run — format, header (algorithm),
    payload, discovery, key, signature, times, issuer, audience, the provider's own rules
    (Entra ID version and directory, B2C policy), token kind, subject, tenant state, required
    scopes and roles — in order, each with its verdict; the checks after a refusal are listed
    as not run. Nothing is issued or stored, the token is never logged; the audit log records
    the dry-run and its verdict.

    Args:
        id (str):
        body (VerifyTokenRequest): A user's access token to dry-run against a tenant. Example:
            {'token': 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29
            tIn0.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | VerifyTokenReport]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    body: VerifyTokenRequest,

) -> Problem | VerifyTokenReport | None:
    """ Dry-run a user's token against a tenant

     Every check the tenant's provider and access policy run — format, header (algorithm),
    payload, discovery, key, signature, times, issuer, audience, the provider's own rules
    (Entra ID version and directory, B2C policy), token kind, subject, tenant state, required
    scopes and roles — in order, each with its verdict; the checks after a refusal are listed
    as not run. Nothing is issued or stored, the token is never logged; the audit log records
    the dry-run and its verdict.

    Args:
        id (str):
        body (VerifyTokenRequest): A user's access token to dry-run against a tenant. Example:
            {'token': 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29
            tIn0.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | VerifyTokenReport
     """


    return sync_detailed(
        id=id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: VerifyTokenRequest,

) -> Response[Problem | VerifyTokenReport]:
    """ Dry-run a user's token against a tenant

     Every check the tenant's provider and access policy run — format, header (algorithm),
    payload, discovery, key, signature, times, issuer, audience, the provider's own rules
    (Entra ID version and directory, B2C policy), token kind, subject, tenant state, required
    scopes and roles — in order, each with its verdict; the checks after a refusal are listed
    as not run. Nothing is issued or stored, the token is never logged; the audit log records
    the dry-run and its verdict.

    Args:
        id (str):
        body (VerifyTokenRequest): A user's access token to dry-run against a tenant. Example:
            {'token': 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29
            tIn0.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | VerifyTokenReport]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: VerifyTokenRequest,

) -> Problem | VerifyTokenReport | None:
    """ Dry-run a user's token against a tenant

     Every check the tenant's provider and access policy run — format, header (algorithm),
    payload, discovery, key, signature, times, issuer, audience, the provider's own rules
    (Entra ID version and directory, B2C policy), token kind, subject, tenant state, required
    scopes and roles — in order, each with its verdict; the checks after a refusal are listed
    as not run. Nothing is issued or stored, the token is never logged; the audit log records
    the dry-run and its verdict.

    Args:
        id (str):
        body (VerifyTokenRequest): A user's access token to dry-run against a tenant. Example:
            {'token': 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29
            tIn0.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | VerifyTokenReport
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
