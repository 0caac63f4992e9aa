from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="AuditEventView")



@_attrs_define
class AuditEventView:
    """ A security event.

        Attributes:
            action (str): E.g. `identity.created`, `tenant.updated`, `admin.key_used`.
            actor (str): `admin:<key id>`, `user:<subject>` or `acs-auth`.
            at (datetime.datetime):  Example: 2026-12-01T10:00:00Z.
            id (int):
            detail (Any | Unset): JSON details, when any.
            request_id (str | Unset):
            target (str | Unset):
            tenant_id (str | Unset):
     """

    action: str
    actor: str
    at: datetime.datetime
    id: int
    detail: Any | Unset = UNSET
    request_id: str | Unset = UNSET
    target: str | Unset = UNSET
    tenant_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        actor = self.actor

        at = self.at.isoformat()

        id = self.id

        detail = self.detail

        request_id = self.request_id

        target = self.target

        tenant_id = self.tenant_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "actor": actor,
            "at": at,
            "id": id,
        })
        if detail is not UNSET:
            field_dict["detail"] = detail
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if target is not UNSET:
            field_dict["target"] = target
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        actor = d.pop("actor")

        at = datetime.datetime.fromisoformat(d.pop("at"))




        id = d.pop("id")

        detail = d.pop("detail", UNSET)

        request_id = d.pop("request_id", UNSET)

        target = d.pop("target", UNSET)

        tenant_id = d.pop("tenant_id", UNSET)

        audit_event_view = cls(
            action=action,
            actor=actor,
            at=at,
            id=id,
            detail=detail,
            request_id=request_id,
            target=target,
            tenant_id=tenant_id,
        )


        audit_event_view.additional_properties = d
        return audit_event_view

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
