from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.oidc_provider_body_kind import OidcProviderBodyKind
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="OidcProviderBody")



@_attrs_define
class OidcProviderBody:
    """ A generic OpenID Connect provider (`kind: "oidc"`).

        Attributes:
            audiences (list[str]): Accepted `aud` values.
            issuer (str): The issuer exactly as in the tokens' `iss`; discovery at `{issuer}/.well-known/openid-
                configuration`.
            kind (OidcProviderBodyKind):  Example: oidc.
            accept_id_tokens (bool | Unset): Accept ID tokens where an access token is expected, for an IdP that can only
                give ID
                tokens. An ID token is meant for the client app, not for an API: whoever holds one of the
                user's ID tokens for that client (any part of the app, its logs) can then get ACS tokens
                as the user. Off by default. Default: False.
            allow_http (bool | Unset): Allow `http://` (development and tests only). Default: False.
            allow_private_network (bool | Unset): Allow IdP addresses in private networks: loopback, RFC 1918, RFC 4193,
                link-local
                (cloud metadata), CGNAT (an IdP inside the operator's network; development and tests). Default: False.
            require_at_jwt (bool | Unset): Require the header `typ` `at+jwt` (RFC 9068 access tokens), for an IdP that marks
                its
                access tokens so (Keycloak with the option on, Auth0, Okta, Duende); any other token is
                refused. Off: a token with `nonce` or `at_hash` is refused as an ID token. Default: False.
            subject_claim (str | Unset): The claim naming the user (default `sub`). Default: 'sub'.
     """

    audiences: list[str]
    issuer: str
    kind: OidcProviderBodyKind
    accept_id_tokens: bool | Unset = False
    allow_http: bool | Unset = False
    allow_private_network: bool | Unset = False
    require_at_jwt: bool | Unset = False
    subject_claim: str | Unset = 'sub'





    def to_dict(self) -> dict[str, Any]:
        audiences = self.audiences



        issuer = self.issuer

        kind = self.kind.value

        accept_id_tokens = self.accept_id_tokens

        allow_http = self.allow_http

        allow_private_network = self.allow_private_network

        require_at_jwt = self.require_at_jwt

        subject_claim = self.subject_claim


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "audiences": audiences,
            "issuer": issuer,
            "kind": kind,
        })
        if accept_id_tokens is not UNSET:
            field_dict["accept_id_tokens"] = accept_id_tokens
        if allow_http is not UNSET:
            field_dict["allow_http"] = allow_http
        if allow_private_network is not UNSET:
            field_dict["allow_private_network"] = allow_private_network
        if require_at_jwt is not UNSET:
            field_dict["require_at_jwt"] = require_at_jwt
        if subject_claim is not UNSET:
            field_dict["subject_claim"] = subject_claim

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        audiences = cast(list[str], d.pop("audiences"))


        issuer = d.pop("issuer")

        kind = OidcProviderBodyKind(d.pop("kind"))




        accept_id_tokens = d.pop("accept_id_tokens", UNSET)

        allow_http = d.pop("allow_http", UNSET)

        allow_private_network = d.pop("allow_private_network", UNSET)

        require_at_jwt = d.pop("require_at_jwt", UNSET)

        subject_claim = d.pop("subject_claim", UNSET)

        oidc_provider_body = cls(
            audiences=audiences,
            issuer=issuer,
            kind=kind,
            accept_id_tokens=accept_id_tokens,
            allow_http=allow_http,
            allow_private_network=allow_private_network,
            require_at_jwt=require_at_jwt,
            subject_claim=subject_claim,
        )

        return oidc_provider_body

