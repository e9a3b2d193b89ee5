"""Which local groups are near a region, and what their partners say to newcomers there."""

from __future__ import annotations

from bot.content import Content
from bot.i18n import Translator
from flows.events.api import EventsContent
from flows.groups.content import Group, GroupsContent


def groups_near(content: Content, region: str) -> list[Group]:
    """Groups in the region, in a region inside it, or in one around it (a group for "europe"
    is near someone in "de")."""
    try:
        regions = content.of(EventsContent)
        groups = content.of(GroupsContent).groups
    except LookupError:  # content loaded without groups or regions
        return []
    around = set(regions.region_and_children((region,)))
    code = regions.regions[region].parent if region in regions.regions else ""
    while code and code not in around:  # its parents, up to the top (a cycle is refused)
        around.add(code)
        code = regions.regions[code].parent if code in regions.regions else ""
    return [g for g in groups.values() if g.region in around]


def partner_lines(content: Content, region: str, project_id: str, tr: Translator) -> list[str]:
    """"Students of X often start here.", for each partner of a group near `region` whose
    people often start with this project (none without a region)."""
    if not region:
        return []
    lines = []
    for group in groups_near(content, region):
        for partner in group.partners:
            if project_id in partner.starts:
                lines.append(tr.t("Students of {partner} often start here.", partner=partner.name)
                             if partner.kind == "university" else
                             tr.t("People of {partner} often start here.",
                                  partner=partner.name))
    return lines
