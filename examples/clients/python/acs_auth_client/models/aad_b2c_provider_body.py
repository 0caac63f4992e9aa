from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.aad_b2c_provider_body_kind import AadB2CProviderBodyKind
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AadB2CProviderBody")



@_attrs_define
class AadB2CProviderBody:
    """ Azure AD B2C (`kind: "aad_b2c"`).

        Attributes:
            client_id (str): The API app's client id.
            directory_id (str): The B2C directory GUID.
            kind (AadB2CProviderBodyKind):  Example: aad_b2c.
            policies (list[str]): Accepted user flows / custom policies.
            tenant_name (str): E.g. `contosob2c`.
            accept_id_tokens (bool | Unset): Accept ID tokens where an access token is expected, for an IdP that can only
                give ID
                tokens. An ID token is meant for the client app, not for an API: whoever holds one of the
                user's ID tokens for that client (any part of the app, its logs) can then get ACS tokens
                as the user. Off by default. Default: False.
            allow_http (bool | Unset): Allow `http://` (development and tests only). Default: False.
            allow_private_network (bool | Unset): Allow IdP addresses in private networks: loopback, RFC 1918, RFC 4193,
                link-local
                (cloud metadata), CGNAT (an IdP inside the operator's network; development and tests). Default: False.
            audiences (list[str] | Unset): Accepted `aud` values (default the client id).
            domain (str | Unset): Default `{tenant_name}.onmicrosoft.com`.
            host (str | Unset): Default `https://{tenant_name}.b2clogin.com` (custom domains).
     """

    client_id: str
    directory_id: str
    kind: AadB2CProviderBodyKind
    policies: list[str]
    tenant_name: str
    accept_id_tokens: bool | Unset = False
    allow_http: bool | Unset = False
    allow_private_network: bool | Unset = False
    audiences: list[str] | Unset = UNSET
    domain: str | Unset = UNSET
    host: str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        directory_id = self.directory_id

        kind = self.kind.value

        policies = self.policies



        tenant_name = self.tenant_name

        accept_id_tokens = self.accept_id_tokens

        allow_http = self.allow_http

        allow_private_network = self.allow_private_network

        audiences: list[str] | Unset = UNSET
        if not isinstance(self.audiences, Unset):
            audiences = self.audiences



        domain = self.domain

        host = self.host


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "client_id": client_id,
            "directory_id": directory_id,
            "kind": kind,
            "policies": policies,
            "tenant_name": tenant_name,
        })
        if accept_id_tokens is not UNSET:
            field_dict["accept_id_tokens"] = accept_id_tokens
        if allow_http is not UNSET:
            field_dict["allow_http"] = allow_http
        if allow_private_network is not UNSET:
            field_dict["allow_private_network"] = allow_private_network
        if audiences is not UNSET:
            field_dict["audiences"] = audiences
        if domain is not UNSET:
            field_dict["domain"] = domain
        if host is not UNSET:
            field_dict["host"] = host

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        directory_id = d.pop("directory_id")

        kind = AadB2CProviderBodyKind(d.pop("kind"))




        policies = cast(list[str], d.pop("policies"))


        tenant_name = d.pop("tenant_name")

        accept_id_tokens = d.pop("accept_id_tokens", UNSET)

        allow_http = d.pop("allow_http", UNSET)

        allow_private_network = d.pop("allow_private_network", UNSET)

        audiences = cast(list[str], d.pop("audiences", UNSET))


        domain = d.pop("domain", UNSET)

        host = d.pop("host", UNSET)

        aad_b2c_provider_body = cls(
            client_id=client_id,
            directory_id=directory_id,
            kind=kind,
            policies=policies,
            tenant_name=tenant_name,
            accept_id_tokens=accept_id_tokens,
            allow_http=allow_http,
            allow_private_network=allow_private_network,
            audiences=audiences,
            domain=domain,
            host=host,
        )

        return aad_b2c_provider_body

