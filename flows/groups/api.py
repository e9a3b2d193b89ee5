"""What other features may use of groups: partners' hints for discovery."""

from __future__ import annotations

from flows.groups.near import partner_lines

__all__ = ["partner_lines"]
