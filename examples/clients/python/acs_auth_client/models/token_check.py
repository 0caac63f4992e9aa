from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="TokenCheck")



@_attrs_define
class TokenCheck:
    """ One check of a token dry-run.

        Attributes:
            detail (str): What it found, or why it refused.
            name (str): The check, e.g. `signature`, `audience`, `required_scopes`.
            ok (bool):
            ran (bool): Whether it ran: the checks after a refusal do not.
     """

    detail: str
    name: str
    ok: bool
    ran: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        name = self.name

        ok = self.ok

        ran = self.ran


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "detail": detail,
            "name": name,
            "ok": ok,
            "ran": ran,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        detail = d.pop("detail")

        name = d.pop("name")

        ok = d.pop("ok")

        ran = d.pop("ran")

        token_check = cls(
            detail=detail,
            name=name,
            ok=ok,
            ran=ran,
        )


        token_check.additional_properties = d
        return token_check

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
