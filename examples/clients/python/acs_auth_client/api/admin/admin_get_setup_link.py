from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.setup_link_view import SetupLinkView
from typing import cast



def _get_kwargs(
    id: str,
    link: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/admin/tenants/{id}/setupLinks/{link}".format(id=quote(str(id), safe=""),link=quote(str(link), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SetupLinkView | None:
    if response.status_code == 200:
        response_200 = SetupLinkView.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SetupLinkView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    link: str,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | SetupLinkView]:
    """ Get a setup link, with the configuration submitted through it

    Args:
        id (str):
        link (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SetupLinkView]
     """


    kwargs = _get_kwargs(
        id=id,
link=link,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    link: str,
    *,
    client: AuthenticatedClient,

) -> Problem | SetupLinkView | None:
    """ Get a setup link, with the configuration submitted through it

    Args:
        id (str):
        link (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SetupLinkView
     """


    return sync_detailed(
        id=id,
link=link,
client=client,

    ).parsed

async def asyncio_detailed(
    id: str,
    link: str,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | SetupLinkView]:
    """ Get a setup link, with the configuration submitted through it

    Args:
        id (str):
        link (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SetupLinkView]
     """


    kwargs = _get_kwargs(
        id=id,
link=link,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    link: str,
    *,
    client: AuthenticatedClient,

) -> Problem | SetupLinkView | None:
    """ Get a setup link, with the configuration submitted through it

    Args:
        id (str):
        link (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SetupLinkView
     """


    return (await asyncio_detailed(
        id=id,
link=link,
client=client,

    )).parsed
