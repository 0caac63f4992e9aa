from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.aad_provider_body_kind import AadProviderBodyKind
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AadProviderBody")



@_attrs_define
class AadProviderBody:
    """ Microsoft Entra ID (`kind: "aad"`).

        Attributes:
            client_id (str): The API app's client id.
            directory (str): A directory (tenant) GUID, or `organizations` / `common` for a multi-tenant app.
            kind (AadProviderBodyKind):  Example: aad.
            allow_any_directory (bool | Unset): Multi-tenant: accept any directory (explicit opt-in). Default: False.
            allow_http (bool | Unset): Allow `http://` (development and tests only). Default: False.
            allow_private_network (bool | Unset): Allow IdP addresses in private networks: loopback, RFC 1918, RFC 4193,
                link-local
                (cloud metadata), CGNAT (an IdP inside the operator's network; development and tests). Default: False.
            allowed_directories (list[str] | Unset): Multi-tenant: the directories whose users are accepted.
            audiences (list[str] | Unset): Accepted `aud` values (default the client id and `api://{client id}`).
            authority_host (str | Unset): Default `https://login.microsoftonline.com`. Default:
                'https://login.microsoftonline.com'.
            token_versions (list[int] | Unset): Accepted token versions, 1 and/or 2 (default `[1, 2]`).
     """

    client_id: str
    directory: str
    kind: AadProviderBodyKind
    allow_any_directory: bool | Unset = False
    allow_http: bool | Unset = False
    allow_private_network: bool | Unset = False
    allowed_directories: list[str] | Unset = UNSET
    audiences: list[str] | Unset = UNSET
    authority_host: str | Unset = 'https://login.microsoftonline.com'
    token_versions: list[int] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        directory = self.directory

        kind = self.kind.value

        allow_any_directory = self.allow_any_directory

        allow_http = self.allow_http

        allow_private_network = self.allow_private_network

        allowed_directories: list[str] | Unset = UNSET
        if not isinstance(self.allowed_directories, Unset):
            allowed_directories = self.allowed_directories



        audiences: list[str] | Unset = UNSET
        if not isinstance(self.audiences, Unset):
            audiences = self.audiences



        authority_host = self.authority_host

        token_versions: list[int] | Unset = UNSET
        if not isinstance(self.token_versions, Unset):
            token_versions = self.token_versions




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "client_id": client_id,
            "directory": directory,
            "kind": kind,
        })
        if allow_any_directory is not UNSET:
            field_dict["allow_any_directory"] = allow_any_directory
        if allow_http is not UNSET:
            field_dict["allow_http"] = allow_http
        if allow_private_network is not UNSET:
            field_dict["allow_private_network"] = allow_private_network
        if allowed_directories is not UNSET:
            field_dict["allowed_directories"] = allowed_directories
        if audiences is not UNSET:
            field_dict["audiences"] = audiences
        if authority_host is not UNSET:
            field_dict["authority_host"] = authority_host
        if token_versions is not UNSET:
            field_dict["token_versions"] = token_versions

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        directory = d.pop("directory")

        kind = AadProviderBodyKind(d.pop("kind"))




        allow_any_directory = d.pop("allow_any_directory", UNSET)

        allow_http = d.pop("allow_http", UNSET)

        allow_private_network = d.pop("allow_private_network", UNSET)

        allowed_directories = cast(list[str], d.pop("allowed_directories", UNSET))


        audiences = cast(list[str], d.pop("audiences", UNSET))


        authority_host = d.pop("authority_host", UNSET)

        token_versions = cast(list[int], d.pop("token_versions", UNSET))


        aad_provider_body = cls(
            client_id=client_id,
            directory=directory,
            kind=kind,
            allow_any_directory=allow_any_directory,
            allow_http=allow_http,
            allow_private_network=allow_private_network,
            allowed_directories=allowed_directories,
            audiences=audiences,
            authority_host=authority_host,
            token_versions=token_versions,
        )

        return aad_provider_body

