from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AccessBody")



@_attrs_define
class AccessBody:
    """ Scopes and roles every caller's token must carry.

        Attributes:
            required_roles (list[str] | Unset):
            required_scopes (list[str] | Unset):
     """

    required_roles: list[str] | Unset = UNSET
    required_scopes: list[str] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        required_roles: list[str] | Unset = UNSET
        if not isinstance(self.required_roles, Unset):
            required_roles = self.required_roles



        required_scopes: list[str] | Unset = UNSET
        if not isinstance(self.required_scopes, Unset):
            required_scopes = self.required_scopes




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if required_roles is not UNSET:
            field_dict["required_roles"] = required_roles
        if required_scopes is not UNSET:
            field_dict["required_scopes"] = required_scopes

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        required_roles = cast(list[str], d.pop("required_roles", UNSET))


        required_scopes = cast(list[str], d.pop("required_scopes", UNSET))


        access_body = cls(
            required_roles=required_roles,
            required_scopes=required_scopes,
        )

        return access_body

