"""Short previews of stored text (outputs, error messages) for list and detail responses."""

from __future__ import annotations


def preview(text: str | None, limit: int = 200) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
