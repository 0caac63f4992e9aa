from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.aad_b2c_provider_body import AadB2CProviderBody
  from ..models.aad_provider_body import AadProviderBody
  from ..models.access_body import AccessBody
  from ..models.acs_body import AcsBody
  from ..models.oidc_provider_body import OidcProviderBody
  from ..models.tokens_body import TokensBody





T = TypeVar("T", bound="TenantView")



@_attrs_define
class TenantView:
    """ A tenant as it is served.

        Attributes:
            access (AccessBody): Scopes and roles every caller's token must carry.
            active (bool): Whether the running registry serves it (false for a stored tenant whose provider cannot be
                built).
            display_name (str):
            enabled (bool):
            id (str):
            provider (AadB2CProviderBody | AadProviderBody | OidcProviderBody): The tenant's identity provider, by `kind`.
            source (str): `file` (read-only here) or `database`.
            tokens (TokensBody): What getToken issues.
            acs (AcsBody | Unset): The tenant's own ACS resource: a connection string, or an endpoint with an Entra ID
                credential (`entra`). Secrets are write-only.
            created_at (datetime.datetime | Unset):  Example: 2026-12-01T10:00:00Z.
            updated_at (datetime.datetime | Unset):  Example: 2026-12-01T10:00:00Z.
     """

    access: AccessBody
    active: bool
    display_name: str
    enabled: bool
    id: str
    provider: AadB2CProviderBody | AadProviderBody | OidcProviderBody
    source: str
    tokens: TokensBody
    acs: AcsBody | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.aad_b2c_provider_body import AadB2CProviderBody # noqa: PLC0415
        from ..models.aad_provider_body import AadProviderBody # noqa: PLC0415
        from ..models.access_body import AccessBody # noqa: PLC0415
        from ..models.acs_body import AcsBody # noqa: PLC0415
        from ..models.oidc_provider_body import OidcProviderBody # noqa: PLC0415
        from ..models.tokens_body import TokensBody # noqa: PLC0415
        access = self.access.to_dict()

        active = self.active

        display_name = self.display_name

        enabled = self.enabled

        id = self.id

        provider: dict[str, Any]
        if isinstance(self.provider, AadProviderBody):
            provider = self.provider.to_dict()
        elif isinstance(self.provider, AadB2CProviderBody):
            provider = self.provider.to_dict()
        else:
            provider = self.provider.to_dict()


        source = self.source

        tokens = self.tokens.to_dict()

        acs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.acs, Unset):
            acs = self.acs.to_dict()

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "access": access,
            "active": active,
            "display_name": display_name,
            "enabled": enabled,
            "id": id,
            "provider": provider,
            "source": source,
            "tokens": tokens,
        })
        if acs is not UNSET:
            field_dict["acs"] = acs
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.aad_b2c_provider_body import AadB2CProviderBody # noqa: PLC0415
        from ..models.aad_provider_body import AadProviderBody # noqa: PLC0415
        from ..models.access_body import AccessBody # noqa: PLC0415
        from ..models.acs_body import AcsBody # noqa: PLC0415
        from ..models.oidc_provider_body import OidcProviderBody # noqa: PLC0415
        from ..models.tokens_body import TokensBody # noqa: PLC0415
        d = dict(src_dict)
        access = AccessBody.from_dict(d.pop("access"))




        active = d.pop("active")

        display_name = d.pop("display_name")

        enabled = d.pop("enabled")

        id = d.pop("id")

        def _parse_provider(data: object) -> AadB2CProviderBody | AadProviderBody | OidcProviderBody:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_provider_body_type_0 = AadProviderBody.from_dict(data)



                return componentsschemas_provider_body_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_provider_body_type_1 = AadB2CProviderBody.from_dict(data)



                return componentsschemas_provider_body_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_provider_body_type_2 = OidcProviderBody.from_dict(data)



            return componentsschemas_provider_body_type_2

        provider = _parse_provider(d.pop("provider"))


        source = d.pop("source")

        tokens = TokensBody.from_dict(d.pop("tokens"))




        _acs = d.pop("acs", UNSET)
        acs: AcsBody | Unset
        if isinstance(_acs,  Unset):
            acs = UNSET
        else:
            acs = AcsBody.from_dict(_acs)




        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at,  Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)




        _updated_at = d.pop("updated_at", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at,  Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)




        tenant_view = cls(
            access=access,
            active=active,
            display_name=display_name,
            enabled=enabled,
            id=id,
            provider=provider,
            source=source,
            tokens=tokens,
            acs=acs,
            created_at=created_at,
            updated_at=updated_at,
        )


        tenant_view.additional_properties = d
        return tenant_view

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
