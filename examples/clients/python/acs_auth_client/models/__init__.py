""" Contains all the data models used in inputs/outputs """

from .aad_b2c_provider_body import AadB2CProviderBody
from .aad_b2c_provider_body_kind import AadB2CProviderBodyKind
from .aad_provider_body import AadProviderBody
from .aad_provider_body_kind import AadProviderBodyKind
from .access_body import AccessBody
from .acs_body import AcsBody
from .acs_scope import AcsScope
from .audit_event_view import AuditEventView
from .audit_page import AuditPage
from .check_item import CheckItem
from .check_report import CheckReport
from .communication_user import CommunicationUser
from .entra_body import EntraBody
from .entra_credential_kind import EntraCredentialKind
from .exchange_token_request import ExchangeTokenRequest
from .exchange_token_response import ExchangeTokenResponse
from .field_error import FieldError
from .get_token_request import GetTokenRequest
from .health_status import HealthStatus
from .mapping_page import MappingPage
from .mapping_view import MappingView
from .oidc_provider_body import OidcProviderBody
from .oidc_provider_body_kind import OidcProviderBodyKind
from .problem import Problem
from .problem_code import ProblemCode
from .setup_link_created import SetupLinkCreated
from .setup_link_request import SetupLinkRequest
from .setup_link_state import SetupLinkState
from .setup_link_view import SetupLinkView
from .tenant_body import TenantBody
from .tenant_deleted import TenantDeleted
from .tenant_page import TenantPage
from .tenant_view import TenantView
from .token_check import TokenCheck
from .token_response import TokenResponse
from .tokens_body import TokensBody
from .user_response import UserResponse
from .verify_token_report import VerifyTokenReport
from .verify_token_request import VerifyTokenRequest

__all__ = (
    "AadB2CProviderBody",
    "AadB2CProviderBodyKind",
    "AadProviderBody",
    "AadProviderBodyKind",
    "AccessBody",
    "AcsBody",
    "AcsScope",
    "AuditEventView",
    "AuditPage",
    "CheckItem",
    "CheckReport",
    "CommunicationUser",
    "EntraBody",
    "EntraCredentialKind",
    "ExchangeTokenRequest",
    "ExchangeTokenResponse",
    "FieldError",
    "GetTokenRequest",
    "HealthStatus",
    "MappingPage",
    "MappingView",
    "OidcProviderBody",
    "OidcProviderBodyKind",
    "Problem",
    "ProblemCode",
    "SetupLinkCreated",
    "SetupLinkRequest",
    "SetupLinkState",
    "SetupLinkView",
    "TenantBody",
    "TenantDeleted",
    "TenantPage",
    "TenantView",
    "TokenCheck",
    "TokenResponse",
    "TokensBody",
    "UserResponse",
    "VerifyTokenReport",
    "VerifyTokenRequest",
)
