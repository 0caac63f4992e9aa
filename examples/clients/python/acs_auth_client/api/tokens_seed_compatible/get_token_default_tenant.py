from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.get_token_request import GetTokenRequest
from ...models.problem import Problem
from ...models.token_response import TokenResponse
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: GetTokenRequest | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/getToken",
    }

    
    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TokenResponse | None:
    if response.status_code == 200:
        response_200 = TokenResponse.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = TokenResponse.from_dict(response.json())



        return response_201

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

    if response.status_code == 502:
        response_502 = Problem.from_dict(response.json())



        return response_502

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if response.status_code == 504:
        response_504 = Problem.from_dict(response.json())



        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TokenResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: GetTokenRequest | Unset = UNSET,

) -> Response[Problem | TokenResponse]:
    """ Get an ACS token (seed-compatible path)

     As getToken; the tenant is the one whose identity provider issued the token, or the
    configured default tenant.

    Args:
        body (GetTokenRequest | Unset): Optional body of getToken. Both fields are bounded by the
            tenant's token policy. Example: {'expiresInMinutes': 60, 'scopes': ['chat', 'voip']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TokenResponse]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: GetTokenRequest | Unset = UNSET,

) -> Problem | TokenResponse | None:
    """ Get an ACS token (seed-compatible path)

     As getToken; the tenant is the one whose identity provider issued the token, or the
    configured default tenant.

    Args:
        body (GetTokenRequest | Unset): Optional body of getToken. Both fields are bounded by the
            tenant's token policy. Example: {'expiresInMinutes': 60, 'scopes': ['chat', 'voip']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TokenResponse
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: GetTokenRequest | Unset = UNSET,

) -> Response[Problem | TokenResponse]:
    """ Get an ACS token (seed-compatible path)

     As getToken; the tenant is the one whose identity provider issued the token, or the
    configured default tenant.

    Args:
        body (GetTokenRequest | Unset): Optional body of getToken. Both fields are bounded by the
            tenant's token policy. Example: {'expiresInMinutes': 60, 'scopes': ['chat', 'voip']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TokenResponse]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: GetTokenRequest | Unset = UNSET,

) -> Problem | TokenResponse | None:
    """ Get an ACS token (seed-compatible path)

     As getToken; the tenant is the one whose identity provider issued the token, or the
    configured default tenant.

    Args:
        body (GetTokenRequest | Unset): Optional body of getToken. Both fields are bounded by the
            tenant's token policy. Example: {'expiresInMinutes': 60, 'scopes': ['chat', 'voip']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TokenResponse
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
