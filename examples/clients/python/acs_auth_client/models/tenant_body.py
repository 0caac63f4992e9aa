from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.aad_b2c_provider_body import AadB2CProviderBody
  from ..models.aad_provider_body import AadProviderBody
  from ..models.access_body import AccessBody
  from ..models.acs_body import AcsBody
  from ..models.oidc_provider_body import OidcProviderBody
  from ..models.tokens_body import TokensBody





T = TypeVar("T", bound="TenantBody")



@_attrs_define
class TenantBody:
    """ A tenant to create (`id` required) or replace (`id` optional; must match the path).

        Example:
            {'display_name': 'Contoso', 'enabled': True, 'id': 'contoso', 'provider': {'accept_id_tokens': False,
                'allow_http': False, 'allow_private_network': False, 'audiences': ['api://acs-auth'], 'issuer':
                'https://login.example.com', 'kind': 'oidc', 'require_at_jwt': False, 'subject_claim': 'sub'}, 'tokens':
                {'lifetime_minutes': 60, 'max_lifetime_minutes': 1440, 'scopes': ['chat', 'voip']}}

        Attributes:
            provider (AadB2CProviderBody | AadProviderBody | OidcProviderBody): The tenant's identity provider, by `kind`.
            access (AccessBody | Unset): Scopes and roles every caller's token must carry.
            acs (AcsBody | Unset): The tenant's own ACS resource: a connection string, or an endpoint with an Entra ID
                credential (`entra`). Secrets are write-only.
            display_name (str | Unset):
            enabled (bool | Unset): Default true.
            id (str | Unset): Slug used in `/tenants/{id}/…`: 1–64 of `a-z`, `0-9` and `-`, not starting with `-`.
            tokens (TokensBody | Unset): What getToken issues.
     """

    provider: AadB2CProviderBody | AadProviderBody | OidcProviderBody
    access: AccessBody | Unset = UNSET
    acs: AcsBody | Unset = UNSET
    display_name: str | Unset = UNSET
    enabled: bool | Unset = UNSET
    id: str | Unset = UNSET
    tokens: TokensBody | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.aad_b2c_provider_body import AadB2CProviderBody # noqa: PLC0415
        from ..models.aad_provider_body import AadProviderBody # noqa: PLC0415
        from ..models.access_body import AccessBody # noqa: PLC0415
        from ..models.acs_body import AcsBody # noqa: PLC0415
        from ..models.oidc_provider_body import OidcProviderBody # noqa: PLC0415
        from ..models.tokens_body import TokensBody # noqa: PLC0415
        provider: dict[str, Any]
        if isinstance(self.provider, AadProviderBody):
            provider = self.provider.to_dict()
        elif isinstance(self.provider, AadB2CProviderBody):
            provider = self.provider.to_dict()
        else:
            provider = self.provider.to_dict()


        access: dict[str, Any] | Unset = UNSET
        if not isinstance(self.access, Unset):
            access = self.access.to_dict()

        acs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.acs, Unset):
            acs = self.acs.to_dict()

        display_name = self.display_name

        enabled = self.enabled

        id = self.id

        tokens: dict[str, Any] | Unset = UNSET
        if not isinstance(self.tokens, Unset):
            tokens = self.tokens.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "provider": provider,
        })
        if access is not UNSET:
            field_dict["access"] = access
        if acs is not UNSET:
            field_dict["acs"] = acs
        if display_name is not UNSET:
            field_dict["display_name"] = display_name
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if id is not UNSET:
            field_dict["id"] = id
        if tokens is not UNSET:
            field_dict["tokens"] = tokens

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


        _access = d.pop("access", UNSET)
        access: AccessBody | Unset
        if isinstance(_access,  Unset):
            access = UNSET
        else:
            access = AccessBody.from_dict(_access)




        _acs = d.pop("acs", UNSET)
        acs: AcsBody | Unset
        if isinstance(_acs,  Unset):
            acs = UNSET
        else:
            acs = AcsBody.from_dict(_acs)




        display_name = d.pop("display_name", UNSET)

        enabled = d.pop("enabled", UNSET)

        id = d.pop("id", UNSET)

        _tokens = d.pop("tokens", UNSET)
        tokens: TokensBody | Unset
        if isinstance(_tokens,  Unset):
            tokens = UNSET
        else:
            tokens = TokensBody.from_dict(_tokens)




        tenant_body = cls(
            provider=provider,
            access=access,
            acs=acs,
            display_name=display_name,
            enabled=enabled,
            id=id,
            tokens=tokens,
        )

        return tenant_body

