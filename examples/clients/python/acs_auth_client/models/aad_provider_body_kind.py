from enum import StrEnum

class AadProviderBodyKind(StrEnum):
    AAD = "aad"

    def __str__(self) -> str:
        return str(self.value)
