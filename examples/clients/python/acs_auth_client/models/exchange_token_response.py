from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="ExchangeTokenResponse")



@_attrs_define
class ExchangeTokenResponse:
    """ An ACS access token for a Teams user.

        Attributes:
            expires_on (datetime.datetime): When the token expires. Example: 2026-12-01T10:00:00Z.
            token (str): The ACS access token (treat it as opaque).
     """

    expires_on: datetime.datetime
    token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        expires_on = self.expires_on.isoformat()

        token = self.token


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "expiresOn": expires_on,
            "token": token,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        expires_on = datetime.datetime.fromisoformat(d.pop("expiresOn"))




        token = d.pop("token")

        exchange_token_response = cls(
            expires_on=expires_on,
            token=token,
        )


        exchange_token_response.additional_properties = d
        return exchange_token_response

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
