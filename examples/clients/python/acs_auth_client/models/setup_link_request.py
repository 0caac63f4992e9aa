from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="SetupLinkRequest")



@_attrs_define
class SetupLinkRequest:
    """ A setup link to make.

        Example:
            {'auto_activate': False, 'display_name': 'Contoso', 'expires_in_hours': 168}

        Attributes:
            auto_activate (bool | Unset): Activate a submitted configuration at once, without the operator (default false).
            display_name (str | Unset): The display name of the tenant the link creates, when the tenant does not exist yet.
            expires_in_hours (int | Unset): Hours until the link expires, 1–720 (default `setup.link_lifetime_hours`, 168).
     """

    auto_activate: bool | Unset = UNSET
    display_name: str | Unset = UNSET
    expires_in_hours: int | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        auto_activate = self.auto_activate

        display_name = self.display_name

        expires_in_hours = self.expires_in_hours


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if auto_activate is not UNSET:
            field_dict["auto_activate"] = auto_activate
        if display_name is not UNSET:
            field_dict["display_name"] = display_name
        if expires_in_hours is not UNSET:
            field_dict["expires_in_hours"] = expires_in_hours

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        auto_activate = d.pop("auto_activate", UNSET)

        display_name = d.pop("display_name", UNSET)

        expires_in_hours = d.pop("expires_in_hours", UNSET)

        setup_link_request = cls(
            auto_activate=auto_activate,
            display_name=display_name,
            expires_in_hours=expires_in_hours,
        )

        return setup_link_request

