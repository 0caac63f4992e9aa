from enum import StrEnum

class AadB2CProviderBodyKind(StrEnum):
    AAD_B2C = "aad_b2c"

    def __str__(self) -> str:
        return str(self.value)
