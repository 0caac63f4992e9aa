from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.entra_credential_kind import EntraCredentialKind
from ..types import UNSET, Unset






T = TypeVar("T", bound="EntraBody")



@_attrs_define
class EntraBody:
    """ A Microsoft Entra ID credential (the `[acs.entra]` table of the configuration file).

        Attributes:
            credential (EntraCredentialKind): How acs-auth gets Entra ID tokens for the ACS resource.
            authority_host (str | Unset): Default `https://login.microsoftonline.com` (sovereign clouds: their authority
                host).
            client_id (str | Unset): The app (`client_secret`, `workload_identity`) or the user-assigned managed identity's
                client id.
            client_secret (str | Unset): The service principal's secret (`client_secret`; write-only).
            has_client_secret (bool | Unset): Whether a client secret is stored (read-only).
            object_id (str | Unset): A user-assigned managed identity's object id (`managed_identity`).
            resource_id (str | Unset): A user-assigned managed identity's Azure resource id (`managed_identity`).
            tenant_id (str | Unset): The directory of the service principal (`client_secret`; `workload_identity` defaults
                to
                `AZURE_TENANT_ID`).
            token_file (str | Unset): The federated token file (`workload_identity`; default `AZURE_FEDERATED_TOKEN_FILE`).
     """

    credential: EntraCredentialKind
    authority_host: str | Unset = UNSET
    client_id: str | Unset = UNSET
    client_secret: str | Unset = UNSET
    has_client_secret: bool | Unset = UNSET
    object_id: str | Unset = UNSET
    resource_id: str | Unset = UNSET
    tenant_id: str | Unset = UNSET
    token_file: str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        credential = self.credential.value

        authority_host = self.authority_host

        client_id = self.client_id

        client_secret = self.client_secret

        has_client_secret = self.has_client_secret

        object_id = self.object_id

        resource_id = self.resource_id

        tenant_id = self.tenant_id

        token_file = self.token_file


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "credential": credential,
        })
        if authority_host is not UNSET:
            field_dict["authority_host"] = authority_host
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if client_secret is not UNSET:
            field_dict["client_secret"] = client_secret
        if has_client_secret is not UNSET:
            field_dict["has_client_secret"] = has_client_secret
        if object_id is not UNSET:
            field_dict["object_id"] = object_id
        if resource_id is not UNSET:
            field_dict["resource_id"] = resource_id
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id
        if token_file is not UNSET:
            field_dict["token_file"] = token_file

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credential = EntraCredentialKind(d.pop("credential"))




        authority_host = d.pop("authority_host", UNSET)

        client_id = d.pop("client_id", UNSET)

        client_secret = d.pop("client_secret", UNSET)

        has_client_secret = d.pop("has_client_secret", UNSET)

        object_id = d.pop("object_id", UNSET)

        resource_id = d.pop("resource_id", UNSET)

        tenant_id = d.pop("tenant_id", UNSET)

        token_file = d.pop("token_file", UNSET)

        entra_body = cls(
            credential=credential,
            authority_host=authority_host,
            client_id=client_id,
            client_secret=client_secret,
            has_client_secret=has_client_secret,
            object_id=object_id,
            resource_id=resource_id,
            tenant_id=tenant_id,
            token_file=token_file,
        )

        return entra_body

