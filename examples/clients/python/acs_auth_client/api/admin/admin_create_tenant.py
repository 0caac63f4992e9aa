from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.tenant_body import TenantBody
from ...models.tenant_view import TenantView
from typing import cast



def _get_kwargs(
    *,
    body: TenantBody,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/tenants",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TenantView | None:
    if response.status_code == 201:
        response_201 = TenantView.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TenantView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TenantBody,

) -> Response[Problem | TenantView]:
    """ Onboard a tenant

     The body has the shape of a `[[tenants]]` table of the configuration file. It is
    validated (the provider and ACS resource are built), stored, and served at once by this
    replica and within `registry.reload_interval_secs` by the others.

    Args:
        body (TenantBody): A tenant to create (`id` required) or replace (`id` optional; must
            match the path). Example: {'display_name': 'Contoso', 'enabled': True, 'id': 'contoso',
            'provider': {'accept_id_tokens': False, 'allow_http': False, 'allow_private_network':
            False, 'audiences': ['api://acs-auth'], 'issuer': 'https://login.example.com', 'kind':
            'oidc', 'require_at_jwt': False, 'subject_claim': 'sub'}, 'tokens': {'lifetime_minutes':
            60, 'max_lifetime_minutes': 1440, 'scopes': ['chat', 'voip']}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TenantView]
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
    body: TenantBody,

) -> Problem | TenantView | None:
    """ Onboard a tenant

     The body has the shape of a `[[tenants]]` table of the configuration file. It is
    validated (the provider and ACS resource are built), stored, and served at once by this
    replica and within `registry.reload_interval_secs` by the others.

    Args:
        body (TenantBody): A tenant to create (`id` required) or replace (`id` optional; must
            match the path). Example: {'display_name': 'Contoso', 'enabled': True, 'id': 'contoso',
            'provider': {'accept_id_tokens': False, 'allow_http': False, 'allow_private_network':
            False, 'audiences': ['api://acs-auth'], 'issuer': 'https://login.example.com', 'kind':
            'oidc', 'require_at_jwt': False, 'subject_claim': 'sub'}, 'tokens': {'lifetime_minutes':
            60, 'max_lifetime_minutes': 1440, 'scopes': ['chat', 'voip']}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TenantView
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TenantBody,

) -> Response[Problem | TenantView]:
    """ Onboard a tenant

     The body has the shape of a `[[tenants]]` table of the configuration file. It is
    validated (the provider and ACS resource are built), stored, and served at once by this
    replica and within `registry.reload_interval_secs` by the others.

    Args:
        body (TenantBody): A tenant to create (`id` required) or replace (`id` optional; must
            match the path). Example: {'display_name': 'Contoso', 'enabled': True, 'id': 'contoso',
            'provider': {'accept_id_tokens': False, 'allow_http': False, 'allow_private_network':
            False, 'audiences': ['api://acs-auth'], 'issuer': 'https://login.example.com', 'kind':
            'oidc', 'require_at_jwt': False, 'subject_claim': 'sub'}, 'tokens': {'lifetime_minutes':
            60, 'max_lifetime_minutes': 1440, 'scopes': ['chat', 'voip']}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TenantView]
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
    body: TenantBody,

) -> Problem | TenantView | None:
    """ Onboard a tenant

     The body has the shape of a `[[tenants]]` table of the configuration file. It is
    validated (the provider and ACS resource are built), stored, and served at once by this
    replica and within `registry.reload_interval_secs` by the others.

    Args:
        body (TenantBody): A tenant to create (`id` required) or replace (`id` optional; must
            match the path). Example: {'display_name': 'Contoso', 'enabled': True, 'id': 'contoso',
            'provider': {'accept_id_tokens': False, 'allow_http': False, 'allow_private_network':
            False, 'audiences': ['api://acs-auth'], 'issuer': 'https://login.example.com', 'kind':
            'oidc', 'require_at_jwt': False, 'subject_claim': 'sub'}, 'tokens': {'lifetime_minutes':
            60, 'max_lifetime_minutes': 1440, 'scopes': ['chat', 'voip']}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TenantView
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
