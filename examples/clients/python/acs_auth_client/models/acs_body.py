from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.entra_body import EntraBody





T = TypeVar("T", bound="AcsBody")



@_attrs_define
class AcsBody:
    """ The tenant's own ACS resource: a connection string, or an endpoint with an Entra ID
    credential (`entra`). Secrets are write-only.

        Attributes:
            connection_string (str | Unset): `endpoint=https://…;accesskey=…`.
            endpoint (str | Unset): The resource's endpoint, e.g. `https://x.communication.azure.com/`: set it with `entra`
                instead of a connection string; served for both.
            entra (EntraBody | Unset): A Microsoft Entra ID credential (the `[acs.entra]` table of the configuration file).
            has_secondary_access_key (bool | Unset): Whether a secondary key is set (read-only).
            secondary_access_key (str | Unset): The resource's other access key, used when the primary is refused (key
                rotation).
            timeout_secs (int | Unset):
     """

    connection_string: str | Unset = UNSET
    endpoint: str | Unset = UNSET
    entra: EntraBody | Unset = UNSET
    has_secondary_access_key: bool | Unset = UNSET
    secondary_access_key: str | Unset = UNSET
    timeout_secs: int | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.entra_body import EntraBody # noqa: PLC0415
        connection_string = self.connection_string

        endpoint = self.endpoint

        entra: dict[str, Any] | Unset = UNSET
        if not isinstance(self.entra, Unset):
            entra = self.entra.to_dict()

        has_secondary_access_key = self.has_secondary_access_key

        secondary_access_key = self.secondary_access_key

        timeout_secs = self.timeout_secs


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if connection_string is not UNSET:
            field_dict["connection_string"] = connection_string
        if endpoint is not UNSET:
            field_dict["endpoint"] = endpoint
        if entra is not UNSET:
            field_dict["entra"] = entra
        if has_secondary_access_key is not UNSET:
            field_dict["has_secondary_access_key"] = has_secondary_access_key
        if secondary_access_key is not UNSET:
            field_dict["secondary_access_key"] = secondary_access_key
        if timeout_secs is not UNSET:
            field_dict["timeout_secs"] = timeout_secs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.entra_body import EntraBody # noqa: PLC0415
        d = dict(src_dict)
        connection_string = d.pop("connection_string", UNSET)

        endpoint = d.pop("endpoint", UNSET)

        _entra = d.pop("entra", UNSET)
        entra: EntraBody | Unset
        if isinstance(_entra,  Unset):
            entra = UNSET
        else:
            entra = EntraBody.from_dict(_entra)




        has_secondary_access_key = d.pop("has_secondary_access_key", UNSET)

        secondary_access_key = d.pop("secondary_access_key", UNSET)

        timeout_secs = d.pop("timeout_secs", UNSET)

        acs_body = cls(
            connection_string=connection_string,
            endpoint=endpoint,
            entra=entra,
            has_secondary_access_key=has_secondary_access_key,
            secondary_access_key=secondary_access_key,
            timeout_secs=timeout_secs,
        )

        return acs_body

