from enum import StrEnum

class AcsScope(StrEnum):
    CHAT = "chat"
    CHAT_JOIN = "chat.join"
    CHAT_JOIN_LIMITED = "chat.join.limited"
    VOIP = "voip"
    VOIP_JOIN = "voip.join"

    def __str__(self) -> str:
        return str(self.value)
