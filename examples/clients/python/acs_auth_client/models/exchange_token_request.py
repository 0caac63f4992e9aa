from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="ExchangeTokenRequest")



@_attrs_define
class ExchangeTokenRequest:
    """ Body of exchangeToken.

        Example:
            {'token': 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F1dGgubXNmdC5jb21tdW5pY2F0aW9uLmF6dXJlLmNv
                bSJ9.c2lnbmF0dXJl'}

        Attributes:
            token (str): The Teams user's Microsoft Entra ID access token for the ACS Teams resource
                (`aud` `https://auth.msft.communication.azure.com`, scopes `Teams.ManageCalls`,
                `Teams.ManageChats`).
     """

    token: str





    def to_dict(self) -> dict[str, Any]:
        token = self.token


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "token": token,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        token = d.pop("token")

        exchange_token_request = cls(
            token=token,
        )

        return exchange_token_request

