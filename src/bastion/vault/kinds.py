"""What a vault object is (dataset or model): a light module, so that the CLI can name
kinds without loading the vault service and its database layer."""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    """What a vault object is; each kind has its own permissions and resource prefix."""

    DATASET = "dataset"
    MODEL = "model"

    @property
    def permissions(self) -> dict[str, str]:
        """Permission per verb."""
        if self is Kind.DATASET:
            return {
                "add": "data:write",
                "read": "data:read",
                "list": "data:list",
                "remove": "data:write",
            }
        return {
            "add": "model:register",
            "read": "model:read",
            "list": "model:list",
            "remove": "model:register",
        }

    @property
    def action_prefix(self) -> str:
        """Prefix of audit actions (``data.add``, ``model.get``)."""
        return "data" if self is Kind.DATASET else "model"

    def resource(self, name: str) -> str:
        """Resource string that grants may match (``dataset/churn*``)."""
        return f"{self.value}/{name}"
