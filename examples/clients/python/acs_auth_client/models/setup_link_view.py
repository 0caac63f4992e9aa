from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.setup_link_state import SetupLinkState
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.aad_b2c_provider_body import AadB2CProviderBody
  from ..models.aad_provider_body import AadProviderBody
  from ..models.oidc_provider_body import OidcProviderBody





T = TypeVar("T", bound="SetupLinkView")



@_attrs_define
class SetupLinkView:
    """ A setup link (never its secret).

        Attributes:
            auto_activate (bool):
            created_at (datetime.datetime):  Example: 2026-12-01T10:00:00Z.
            created_by (str):
            expires_at (datetime.datetime):  Example: 2026-12-01T10:00:00Z.
            id (str):
            state (SetupLinkState): Where a setup link is in its life.
            tenant_id (str):
            activated_at (datetime.datetime | Unset):  Example: 2026-12-01T10:00:00Z.
            display_name (str | Unset): The display name of the tenant the link creates.
            opened_at (datetime.datetime | Unset): The first time the customer opened it. Example: 2026-12-01T10:00:00Z.
            pending_provider (AadB2CProviderBody | AadProviderBody | OidcProviderBody | Unset): The tenant's identity
                provider, by `kind`.
            revoked_at (datetime.datetime | Unset):  Example: 2026-12-01T10:00:00Z.
            submitted_at (datetime.datetime | Unset): The latest submission. Example: 2026-12-01T10:00:00Z.
     """

    auto_activate: bool
    created_at: datetime.datetime
    created_by: str
    expires_at: datetime.datetime
    id: str
    state: SetupLinkState
    tenant_id: str
    activated_at: datetime.datetime | Unset = UNSET
    display_name: str | Unset = UNSET
    opened_at: datetime.datetime | Unset = UNSET
    pending_provider: AadB2CProviderBody | AadProviderBody | OidcProviderBody | Unset = UNSET
    revoked_at: datetime.datetime | Unset = UNSET
    submitted_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.aad_b2c_provider_body import AadB2CProviderBody # noqa: PLC0415
        from ..models.aad_provider_body import AadProviderBody # noqa: PLC0415
        from ..models.oidc_provider_body import OidcProviderBody # noqa: PLC0415
        auto_activate = self.auto_activate

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        expires_at = self.expires_at.isoformat()

        id = self.id

        state = self.state.value

        tenant_id = self.tenant_id

        activated_at: str | Unset = UNSET
        if not isinstance(self.activated_at, Unset):
            activated_at = self.activated_at.isoformat()

        display_name = self.display_name

        opened_at: str | Unset = UNSET
        if not isinstance(self.opened_at, Unset):
            opened_at = self.opened_at.isoformat()

        pending_provider: dict[str, Any] | Unset
        if isinstance(self.pending_provider, Unset):
            pending_provider = UNSET
        elif isinstance(self.pending_provider, AadProviderBody):
            pending_provider = self.pending_provider.to_dict()
        elif isinstance(self.pending_provider, AadB2CProviderBody):
            pending_provider = self.pending_provider.to_dict()
        else:
            pending_provider = self.pending_provider.to_dict()


        revoked_at: str | Unset = UNSET
        if not isinstance(self.revoked_at, Unset):
            revoked_at = self.revoked_at.isoformat()

        submitted_at: str | Unset = UNSET
        if not isinstance(self.submitted_at, Unset):
            submitted_at = self.submitted_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "auto_activate": auto_activate,
            "created_at": created_at,
            "created_by": created_by,
            "expires_at": expires_at,
            "id": id,
            "state": state,
            "tenant_id": tenant_id,
        })
        if activated_at is not UNSET:
            field_dict["activated_at"] = activated_at
        if display_name is not UNSET:
            field_dict["display_name"] = display_name
        if opened_at is not UNSET:
            field_dict["opened_at"] = opened_at
        if pending_provider is not UNSET:
            field_dict["pending_provider"] = pending_provider
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at
        if submitted_at is not UNSET:
            field_dict["submitted_at"] = submitted_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.aad_b2c_provider_body import AadB2CProviderBody # noqa: PLC0415
        from ..models.aad_provider_body import AadProviderBody # noqa: PLC0415
        from ..models.oidc_provider_body import OidcProviderBody # noqa: PLC0415
        d = dict(src_dict)
        auto_activate = d.pop("auto_activate")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        created_by = d.pop("created_by")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))




        id = d.pop("id")

        state = SetupLinkState(d.pop("state"))




        tenant_id = d.pop("tenant_id")

        _activated_at = d.pop("activated_at", UNSET)
        activated_at: datetime.datetime | Unset
        if isinstance(_activated_at,  Unset):
            activated_at = UNSET
        else:
            activated_at = datetime.datetime.fromisoformat(_activated_at)




        display_name = d.pop("display_name", UNSET)

        _opened_at = d.pop("opened_at", UNSET)
        opened_at: datetime.datetime | Unset
        if isinstance(_opened_at,  Unset):
            opened_at = UNSET
        else:
            opened_at = datetime.datetime.fromisoformat(_opened_at)




        def _parse_pending_provider(data: object) -> AadB2CProviderBody | AadProviderBody | OidcProviderBody | Unset:
            if isinstance(data, Unset):
                return data
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

        pending_provider = _parse_pending_provider(d.pop("pending_provider", UNSET))


        _revoked_at = d.pop("revoked_at", UNSET)
        revoked_at: datetime.datetime | Unset
        if isinstance(_revoked_at,  Unset):
            revoked_at = UNSET
        else:
            revoked_at = datetime.datetime.fromisoformat(_revoked_at)




        _submitted_at = d.pop("submitted_at", UNSET)
        submitted_at: datetime.datetime | Unset
        if isinstance(_submitted_at,  Unset):
            submitted_at = UNSET
        else:
            submitted_at = datetime.datetime.fromisoformat(_submitted_at)




        setup_link_view = cls(
            auto_activate=auto_activate,
            created_at=created_at,
            created_by=created_by,
            expires_at=expires_at,
            id=id,
            state=state,
            tenant_id=tenant_id,
            activated_at=activated_at,
            display_name=display_name,
            opened_at=opened_at,
            pending_provider=pending_provider,
            revoked_at=revoked_at,
            submitted_at=submitted_at,
        )


        setup_link_view.additional_properties = d
        return setup_link_view

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
