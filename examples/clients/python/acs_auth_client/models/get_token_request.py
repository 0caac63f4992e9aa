from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.acs_scope import AcsScope
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="GetTokenRequest")



@_attrs_define
class GetTokenRequest:
    """ Optional body of getToken. Both fields are bounded by the tenant's token policy.

        Example:
            {'expiresInMinutes': 60, 'scopes': ['chat', 'voip']}

        Attributes:
            expires_in_minutes (int | Unset): Token lifetime in minutes (60–1440, and at most the tenant's maximum); the
                tenant's
                default when absent.
            scopes (list[AcsScope] | Unset): ACS scopes to issue; the tenant's default scopes when absent.
     """

    expires_in_minutes: int | Unset = UNSET
    scopes: list[AcsScope] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        expires_in_minutes = self.expires_in_minutes

        scopes: list[str] | Unset = UNSET
        if not isinstance(self.scopes, Unset):
            scopes = []
            for scopes_item_data in self.scopes:
                scopes_item = scopes_item_data.value
                scopes.append(scopes_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if expires_in_minutes is not UNSET:
            field_dict["expiresInMinutes"] = expires_in_minutes
        if scopes is not UNSET:
            field_dict["scopes"] = scopes

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        expires_in_minutes = d.pop("expiresInMinutes", UNSET)

        _scopes = d.pop("scopes", UNSET)
        scopes: list[AcsScope] | Unset = UNSET
        if _scopes is not UNSET:
            scopes = []
            for scopes_item_data in _scopes:
                scopes_item = AcsScope(scopes_item_data)



                scopes.append(scopes_item)


        get_token_request = cls(
            expires_in_minutes=expires_in_minutes,
            scopes=scopes,
        )

        return get_token_request

