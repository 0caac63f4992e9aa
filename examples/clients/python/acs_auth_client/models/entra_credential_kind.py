from enum import StrEnum

class EntraCredentialKind(StrEnum):
    CLIENT_SECRET = "client_secret"
    MANAGED_IDENTITY = "managed_identity"
    WORKLOAD_IDENTITY = "workload_identity"

    def __str__(self) -> str:
        return str(self.value)
