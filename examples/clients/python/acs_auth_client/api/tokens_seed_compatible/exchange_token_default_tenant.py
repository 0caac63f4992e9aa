from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.exchange_token_request import ExchangeTokenRequest
from ...models.exchange_token_response import ExchangeTokenResponse
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: ExchangeTokenRequest | Unset = UNSET,
    teams_user_aad_token: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(teams_user_aad_token, Unset):
        headers["teams-user-aad-token"] = teams_user_aad_token



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/exchangeToken",
    }

    
    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ExchangeTokenResponse | Problem | None:
    if response.status_code == 200:
        response_200 = ExchangeTokenResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ExchangeTokenResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ExchangeTokenRequest | Unset = UNSET,
    teams_user_aad_token: str | Unset = UNSET,

) -> Response[ExchangeTokenResponse | Problem]:
    """ Exchange a Teams user's token (seed-compatible path)

    Args:
        teams_user_aad_token (str | Unset):
        body (ExchangeTokenRequest | Unset): Body of exchangeToken. Example: {'token': 'eyJ0eXAiOi
            JKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F1dGgubXNmdC5jb21tdW5pY2F0aW9uLmF6dXJlLmN
            vbSJ9.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExchangeTokenResponse | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
teams_user_aad_token=teams_user_aad_token,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: ExchangeTokenRequest | Unset = UNSET,
    teams_user_aad_token: str | Unset = UNSET,

) -> ExchangeTokenResponse | Problem | None:
    """ Exchange a Teams user's token (seed-compatible path)

    Args:
        teams_user_aad_token (str | Unset):
        body (ExchangeTokenRequest | Unset): Body of exchangeToken. Example: {'token': 'eyJ0eXAiOi
            JKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F1dGgubXNmdC5jb21tdW5pY2F0aW9uLmF6dXJlLmN
            vbSJ9.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExchangeTokenResponse | Problem
     """


    return sync_detailed(
        client=client,
body=body,
teams_user_aad_token=teams_user_aad_token,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ExchangeTokenRequest | Unset = UNSET,
    teams_user_aad_token: str | Unset = UNSET,

) -> Response[ExchangeTokenResponse | Problem]:
    """ Exchange a Teams user's token (seed-compatible path)

    Args:
        teams_user_aad_token (str | Unset):
        body (ExchangeTokenRequest | Unset): Body of exchangeToken. Example: {'token': 'eyJ0eXAiOi
            JKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F1dGgubXNmdC5jb21tdW5pY2F0aW9uLmF6dXJlLmN
            vbSJ9.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExchangeTokenResponse | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
teams_user_aad_token=teams_user_aad_token,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ExchangeTokenRequest | Unset = UNSET,
    teams_user_aad_token: str | Unset = UNSET,

) -> ExchangeTokenResponse | Problem | None:
    """ Exchange a Teams user's token (seed-compatible path)

    Args:
        teams_user_aad_token (str | Unset):
        body (ExchangeTokenRequest | Unset): Body of exchangeToken. Example: {'token': 'eyJ0eXAiOi
            JKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F1dGgubXNmdC5jb21tdW5pY2F0aW9uLmF6dXJlLmN
            vbSJ9.c2lnbmF0dXJl'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExchangeTokenResponse | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
teams_user_aad_token=teams_user_aad_token,

    )).parsed
