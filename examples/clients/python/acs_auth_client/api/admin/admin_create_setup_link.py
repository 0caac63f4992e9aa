from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.setup_link_created import SetupLinkCreated
from ...models.setup_link_request import SetupLinkRequest
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: SetupLinkRequest | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/tenants/{id}/setupLinks".format(id=quote(str(id), safe=""),),
    }

    
    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SetupLinkCreated | None:
    if response.status_code == 201:
        response_201 = SetupLinkCreated.from_dict(response.json())



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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SetupLinkCreated]:
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
    body: SetupLinkRequest | Unset = UNSET,

) -> Response[Problem | SetupLinkCreated]:
    """ Make a setup link for a tenant

     The customer's IT admin opens the link, connects their identity provider, tests it and
    submits; the configuration then waits for activation (or takes effect at once with
    `auto_activate`). The tenant may be a stored one (its provider is replaced on activation)
    or one that does not exist yet (activation creates it). The link's secret is in `url`
    only: it is stored as a hash.

    Args:
        id (str):
        body (SetupLinkRequest | Unset): A setup link to make. Example: {'auto_activate': False,
            'display_name': 'Contoso', 'expires_in_hours': 168}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SetupLinkCreated]
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
    body: SetupLinkRequest | Unset = UNSET,

) -> Problem | SetupLinkCreated | None:
    """ Make a setup link for a tenant

     The customer's IT admin opens the link, connects their identity provider, tests it and
    submits; the configuration then waits for activation (or takes effect at once with
    `auto_activate`). The tenant may be a stored one (its provider is replaced on activation)
    or one that does not exist yet (activation creates it). The link's secret is in `url`
    only: it is stored as a hash.

    Args:
        id (str):
        body (SetupLinkRequest | Unset): A setup link to make. Example: {'auto_activate': False,
            'display_name': 'Contoso', 'expires_in_hours': 168}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SetupLinkCreated
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
    body: SetupLinkRequest | Unset = UNSET,

) -> Response[Problem | SetupLinkCreated]:
    """ Make a setup link for a tenant

     The customer's IT admin opens the link, connects their identity provider, tests it and
    submits; the configuration then waits for activation (or takes effect at once with
    `auto_activate`). The tenant may be a stored one (its provider is replaced on activation)
    or one that does not exist yet (activation creates it). The link's secret is in `url`
    only: it is stored as a hash.

    Args:
        id (str):
        body (SetupLinkRequest | Unset): A setup link to make. Example: {'auto_activate': False,
            'display_name': 'Contoso', 'expires_in_hours': 168}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SetupLinkCreated]
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
    body: SetupLinkRequest | Unset = UNSET,

) -> Problem | SetupLinkCreated | None:
    """ Make a setup link for a tenant

     The customer's IT admin opens the link, connects their identity provider, tests it and
    submits; the configuration then waits for activation (or takes effect at once with
    `auto_activate`). The tenant may be a stored one (its provider is replaced on activation)
    or one that does not exist yet (activation creates it). The link's secret is in `url`
    only: it is stored as a hash.

    Args:
        id (str):
        body (SetupLinkRequest | Unset): A setup link to make. Example: {'auto_activate': False,
            'display_name': 'Contoso', 'expires_in_hours': 168}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SetupLinkCreated
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
