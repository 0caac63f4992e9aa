from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="MappingView")



@_attrs_define
class MappingView:
    """ One user's mapping to an ACS identity.

        Attributes:
            acs_resource (str): The ACS resource (endpoint) the identity lives in.
            communication_user_id (str):
            created_at (datetime.datetime):  Example: 2026-12-01T10:00:00Z.
            id (int):
            issuer_key (str): The issuer (or Entra directory) the subject is scoped by.
            last_used_at (datetime.datetime): Last time a new ACS token was issued for it. Example: 2026-12-01T10:00:00Z.
            subject (str):
     """

    acs_resource: str
    communication_user_id: str
    created_at: datetime.datetime
    id: int
    issuer_key: str
    last_used_at: datetime.datetime
    subject: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        acs_resource = self.acs_resource

        communication_user_id = self.communication_user_id

        created_at = self.created_at.isoformat()

        id = self.id

        issuer_key = self.issuer_key

        last_used_at = self.last_used_at.isoformat()

        subject = self.subject


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "acs_resource": acs_resource,
            "communication_user_id": communication_user_id,
            "created_at": created_at,
            "id": id,
            "issuer_key": issuer_key,
            "last_used_at": last_used_at,
            "subject": subject,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        acs_resource = d.pop("acs_resource")

        communication_user_id = d.pop("communication_user_id")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = d.pop("id")

        issuer_key = d.pop("issuer_key")

        last_used_at = datetime.datetime.fromisoformat(d.pop("last_used_at"))




        subject = d.pop("subject")

        mapping_view = cls(
            acs_resource=acs_resource,
            communication_user_id=communication_user_id,
            created_at=created_at,
            id=id,
            issuer_key=issuer_key,
            last_used_at=last_used_at,
            subject=subject,
        )


        mapping_view.additional_properties = d
        return mapping_view

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
