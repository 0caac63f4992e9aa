from enum import StrEnum

class SetupLinkState(StrEnum):
    ACTIVATED = "activated"
    EXPIRED = "expired"
    OPEN = "open"
    REVOKED = "revoked"
    SUBMITTED = "submitted"

    def __str__(self) -> str:
        return str(self.value)
