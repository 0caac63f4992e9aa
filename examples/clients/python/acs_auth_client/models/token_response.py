from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.communication_user import CommunicationUser





T = TypeVar("T", bound="TokenResponse")



@_attrs_define
class TokenResponse:
    """ An ACS access token for the caller's ACS identity.

        Attributes:
            expires_on (datetime.datetime): When the token expires. Example: 2026-12-01T10:00:00Z.
            token (str): The ACS access token (a JWT; treat it as opaque).
            user (CommunicationUser): The ACS identity of the caller.
     """

    expires_on: datetime.datetime
    token: str
    user: CommunicationUser
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.communication_user import CommunicationUser # noqa: PLC0415
        expires_on = self.expires_on.isoformat()

        token = self.token

        user = self.user.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "expiresOn": expires_on,
            "token": token,
            "user": user,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.communication_user import CommunicationUser # noqa: PLC0415
        d = dict(src_dict)
        expires_on = datetime.datetime.fromisoformat(d.pop("expiresOn"))




        token = d.pop("token")

        user = CommunicationUser.from_dict(d.pop("user"))




        token_response = cls(
            expires_on=expires_on,
            token=token,
            user=user,
        )


        token_response.additional_properties = d
        return token_response

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
