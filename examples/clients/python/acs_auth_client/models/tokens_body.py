from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.acs_scope import AcsScope
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="TokensBody")



@_attrs_define
class TokensBody:
    """ What getToken issues.

        Attributes:
            allowed_scopes (list[AcsScope] | Unset): Scopes a request may ask for (default: `scopes`; it must hold every
                default scope).
            lifetime_minutes (int | Unset): Default lifetime, 60–1440 minutes (default 60).
            max_lifetime_minutes (int | Unset): Longest lifetime a request may ask for (default 1440).
            scopes (list[AcsScope] | Unset): Default scopes (default `["chat", "voip"]`).
     """

    allowed_scopes: list[AcsScope] | Unset = UNSET
    lifetime_minutes: int | Unset = UNSET
    max_lifetime_minutes: int | Unset = UNSET
    scopes: list[AcsScope] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        allowed_scopes: list[str] | Unset = UNSET
        if not isinstance(self.allowed_scopes, Unset):
            allowed_scopes = []
            for allowed_scopes_item_data in self.allowed_scopes:
                allowed_scopes_item = allowed_scopes_item_data.value
                allowed_scopes.append(allowed_scopes_item)



        lifetime_minutes = self.lifetime_minutes

        max_lifetime_minutes = self.max_lifetime_minutes

        scopes: list[str] | Unset = UNSET
        if not isinstance(self.scopes, Unset):
            scopes = []
            for scopes_item_data in self.scopes:
                scopes_item = scopes_item_data.value
                scopes.append(scopes_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if allowed_scopes is not UNSET:
            field_dict["allowed_scopes"] = allowed_scopes
        if lifetime_minutes is not UNSET:
            field_dict["lifetime_minutes"] = lifetime_minutes
        if max_lifetime_minutes is not UNSET:
            field_dict["max_lifetime_minutes"] = max_lifetime_minutes
        if scopes is not UNSET:
            field_dict["scopes"] = scopes

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _allowed_scopes = d.pop("allowed_scopes", UNSET)
        allowed_scopes: list[AcsScope] | Unset = UNSET
        if _allowed_scopes is not UNSET:
            allowed_scopes = []
            for allowed_scopes_item_data in _allowed_scopes:
                allowed_scopes_item = AcsScope(allowed_scopes_item_data)



                allowed_scopes.append(allowed_scopes_item)


        lifetime_minutes = d.pop("lifetime_minutes", UNSET)

        max_lifetime_minutes = d.pop("max_lifetime_minutes", UNSET)

        _scopes = d.pop("scopes", UNSET)
        scopes: list[AcsScope] | Unset = UNSET
        if _scopes is not UNSET:
            scopes = []
            for scopes_item_data in _scopes:
                scopes_item = AcsScope(scopes_item_data)



                scopes.append(scopes_item)


        tokens_body = cls(
            allowed_scopes=allowed_scopes,
            lifetime_minutes=lifetime_minutes,
            max_lifetime_minutes=max_lifetime_minutes,
            scopes=scopes,
        )

        return tokens_body

