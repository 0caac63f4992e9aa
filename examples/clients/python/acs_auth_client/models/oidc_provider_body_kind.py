from enum import StrEnum

class OidcProviderBodyKind(StrEnum):
    OIDC = "oidc"

    def __str__(self) -> str:
        return str(self.value)
