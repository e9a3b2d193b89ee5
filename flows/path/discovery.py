"""Step 1, "Find your project": a few questions, then ranked suggestions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.caches import remember
from bot.content import Content
from bot.flow import Flow, Goto, Step, Transition, Turn
from bot.i18n import ENGLISH, LOCALE_KEY, N_, Translator, language_name
from bot.model import Choice
from bot.text import one_line
from flows.events.api import EventsState
from flows.groups.api import partner_lines
from flows.path.content import SHOWN_KEPT, PathContent, Project
from flows.path.feedback import GREETING, ask_motive, motive_reply
from flows.path.matching import (
    INTEREST,
    LANGUAGE,
    SKILL,
    SUMMARY,
    WEIGHTS,
    Hit,
    close_to,
    words,
)
from flows.path.matching import score as match_score
from flows.path.progress import channel_list, contact_lines, path_of, profile, task_elsewhere
from flows.path.settings import PathConfig
from flows.path.state import Discovery

# Options per page of a question: with the question and the other words it fits IRC's ten lines.
MAX_OPTIONS = 7
MAX_FEATURED = 8  # featured projects on one screen when nothing ranks them
MATCHED_KEPT = 1024  # answers whose matches a content version keeps (PathContent.matched)
CARDS_KEPT = 4096  # project cards a content version keeps (PathContent.cards)


def _ranked_options(values: Iterable[str]) -> list[str]:
    counts = Counter(v.lower() for v in values)
    return sorted(counts, key=lambda v: (-counts[v], v))


def _pages(options: list[str]) -> list[list[str]]:
    """Pages of about the same size, none over MAX_OPTIONS (15 options: 5, 5, 5)."""
    count = max(1, -(-len(options) // MAX_OPTIONS))
    size = -(-len(options) // count) if options else 0
    return [options[i:i + size] for i in range(0, len(options), size)] if size else [[]]


ANSWER_CHARS = 200  # of each answer kept: a sentence or two ("I teach at a school and...")


def _answers(turn: Turn) -> list[str]:
    return [one_line(w, ANSWER_CHARS).lower() for w in [*turn.picked, *turn.free] if w.strip()]


async def welcome(turn: Turn) -> Transition:
    origin = turn.content.of(PathContent).projects.get(path_of(turn).origin)
    if origin is None:
        return Goto("interests")
    turn.say(turn.t("Welcome to {name}! {summary}.\nWould you like to start right away with "
                    "its step-by-step workshop, or first see which other projects might suit "
                    "you?", name=origin.name, summary=origin.summary),
             [Choice("workshop", turn.t("Start the {name} workshop", name=origin.name)),
              Choice("browse", turn.t("Show me other projects"))])
    return None


async def welcome_reply(turn: Turn) -> Transition:
    if turn.input.command == "skip":
        return Goto("browse")
    if turn.choice == "workshop":
        return pick_project(turn, path_of(turn).origin)
    if turn.choice == "browse":
        return Goto("interests")
    turn.say(turn.t("Please pick 1 to start the workshop or 2 to see other projects."))
    return None


QUESTIONS = {
    "interests": N_("What are you interested in?"),
    "skills": N_("What are you good at, or want to learn?"),
    "languages": N_("Which programming languages do you code in? (None yet is fine: say "
                    "none.)"),
}


def _values(content: PathContent, field: str) -> list[str]:
    projects = content.projects.values()
    return [v for p in projects for v in {"interests": p.tags, "skills": p.skills,
                                          "languages": p.languages}[field]]


def _option_pages(turn: Turn, field: str) -> list[list[str]]:
    """A question's options, ranked and paged: made of the content alone, so once per
    content version."""
    content = turn.content.of(PathContent)
    found = content.pages.get(field)
    if found is None:
        found = content.pages[field] = _pages(_ranked_options(_values(content, field)))
    return found


def _ask(turn: Turn, field: str, page: int = 0) -> None:
    """One question with one page of its options; the other options are named as words, so
    every one is on screen, and !more numbers the next page."""
    pages = _option_pages(turn, field)
    page %= len(pages)
    tr = turn.translator
    content = turn.content.of(PathContent)
    key = ("ask", field, page, tr)  # made of the content and the language alone: worded once
    found = content.shown.get(key)
    if found is None:
        shown = pages[page]
        rest = [o for p in pages for o in p if o not in shown]
        text = tr.t("{question} Pick one or more by number or word (commas between them), or "
                    "say it in your own words. !skip if you'd rather not say.",
                    question=tr.t(QUESTIONS[field]))
        if rest:
            listed = ", ".join(rest)
            text += "\n" + (tr.t("Also: {listed} (type the word, or !more to number them).",
                                 listed=listed)
                            if len(listed) <= 200 else
                            tr.tn("{n} more: !more shows them.", "{n} more: !more shows them.",
                                  len(rest)))
        found = remember(content.shown, key, (text, tuple(Choice(v, v) for v in shown)),
                         SHOWN_KEPT)
    turn.say(*found)
    state = path_of(turn).discovery
    if state is not None:
        state.options_page = page


def offer_language(turn: Turn) -> str:
    """Once along the path, to someone who has not chosen a language: the others the bot
    speaks, and how to choose one ("" once offered, or with nothing else to offer)."""
    path = path_of(turn)
    others = [code for code in turn.config.i18n.offered() if code != turn.locale]
    if path.language_offered or not others or (turn.data.get(LOCALE_KEY) or {}).get("chosen"):
        return ""
    path.language_offered = True
    return " " + turn.t("I also speak {languages}: !language {code} to switch.",
                        languages=", ".join(language_name(code) for code in others),
                        code=others[0])


async def ask_interests(turn: Turn) -> Transition:
    if path_of(turn).motive_asked:  # greeted with "what brings you here?"
        turn.say(turn.t("Three quick questions to find projects that fit you.") +
                 offer_language(turn))
    else:
        turn.say(turn.t(GREETING) + " " + turn.t("Three quick questions first.") +
                 offer_language(turn))
    _ask(turn, "interests")
    return None


async def ask_skills(turn: Turn) -> Transition:
    _ask(turn, "skills")
    return None


async def ask_languages(turn: Turn) -> Transition:
    _ask(turn, "languages")
    return None


def _store_answer(field: str, then: str) -> Step:
    async def reply(turn: Turn) -> Transition:
        path = path_of(turn)
        if turn.input.command == "more":
            if len(_option_pages(turn, field)) == 1:
                turn.say(turn.t("Those are all the options already: pick by number or word, "
                                "say it in your own words, or !skip."))
                return None
            state = path.discovery = path.discovery or Discovery()
            _ask(turn, field, state.options_page + 1)
            return None
        answers = [] if turn.input.command == "skip" else _answers(turn)
        profile(path)[field] = [a for a in answers if a != "none"]
        path.discovery = None  # answers changed: rank again
        return Goto(then)

    return Step(field, enter={"interests": ask_interests, "skills": ask_skills,
                              "languages": ask_languages}[field],
                reply=reply, commands=("skip", "more"), multi_choice=True,
                back={"interests": None, "skills": "interests", "languages": "skills"}[field])


def hits_for(content: PathContent, answers: list[str]) -> dict[str, list[Hit]]:
    """What answers name, per project (every answer against every facet: a skill typed as
    an interest still counts)."""
    found: dict[str, list[Hit]] = {}
    if answers:
        for hit in content.index.match(answers):
            found.setdefault(hit.project, []).append(hit)
    return found


def _said(turn: Turn) -> tuple[str, ...]:
    """The person's answers to the questions, in order: what their suggestions are made of."""
    prof = profile(path_of(turn))
    return (*prof["interests"], *prof["skills"], *prof["languages"])


def _matched(turn: Turn) -> tuple[dict[str, list[Hit]], tuple[str, ...], bool]:
    """What the person's answers match per project (read only), the featured projects ranked
    by it, and whether any matched: worked out once per content version and answers."""
    answers = _said(turn)
    content = turn.content.of(PathContent)
    found = content.matched.get(answers)
    if found is None:
        hits = hits_for(content, list(answers))
        ranked = rank(turn.content, hits)
        found = (hits, tuple(ranked),
                 any(match_score(hits.get(pid, [])) > 0 for pid in ranked))
        remember(content.matched, answers, found, MATCHED_KEPT)
    return found


REASONS = ((INTEREST, N_("your interest in {labels}")), (SKILL, N_("your skills in {labels}")),
           (LANGUAGE, N_("you code in {labels}")), (SUMMARY, N_("it is about {labels}")))


def reasons(hits: list[Hit], tr: Translator = ENGLISH) -> list[str]:
    """Why a project fits, in words a newcomer reads: each thing named once, at its strongest
    facet."""
    strongest: dict[str, str] = {}
    for hit in sorted(hits, key=lambda h: -WEIGHTS[h.facet]):
        strongest.setdefault(hit.label.lower(), hit.facet)
    out = []
    for facet, label in REASONS:
        labels = sorted(name for name, best in strongest.items() if best == facet)
        if labels:
            out.append(tr.t(label, labels=", ".join(labels)))
    return out


def rank(content: Content, hits: dict[str, list[Hit]]) -> list[str]:
    """Featured projects, best match first, then by name (!skip browses every project)."""
    projects = content.of(PathContent).projects
    featured = {pid: p for pid, p in projects.items() if p.featured} or projects
    return sorted(featured, key=lambda pid: (-match_score(hits.get(pid, [])),
                                             featured[pid].name.lower()))


def card(project: Project, why: str, contacts: list[str], tr: Translator = ENGLISH) -> str:
    lines = [f"* {project.name}: {tr.local(project.summary)}"]
    if why:
        lines.append("  " + tr.t("Why: {why}", why=why))
    if project.docs:
        lines.append("  " + tr.t("Docs: {url}", url=project.docs))
    return "\n".join(lines + contacts)


def _show(turn: Turn, ids: list[str], heading: str, footer: str,
          unmatched: str = "") -> None:
    """Cards for these projects; the numbers offered are these, in this order."""
    content = turn.content.of(PathContent)
    projects = content.projects
    region = turn.state(EventsState).region  # local groups' partners speak to people near
    tr = turn.translator
    # A card is made of the content and these alone (the mentors as read on the network):
    # worded once per content version.
    said = (_said(turn), unmatched, region, turn.inbound.network, tr)
    cards = []
    hits: dict[str, list[Hit]] | None = None
    for pid in ids:
        key = (pid, *said)
        text = content.cards.get(key)
        if text is None:
            if hits is None:  # the first card to word: matched once (cached per answers)
                hits = _matched(turn)[0]
            why = "; ".join(reasons(hits.get(pid, []), tr)) or unmatched
            partners = ["  " + line for line in partner_lines(turn.content, region, pid, tr)]
            text = remember(content.cards, key,
                            card(projects[pid], why,
                                 partners + contact_lines(turn, projects[pid], "  "), tr),
                            CARDS_KEPT)
        cards.append(text)
    turn.say(heading + "\n\n" + "\n\n".join(cards) + "\n\n" + footer,
             [Choice(pid, projects[pid].name) for pid in ids])


def _page_size(turn: Turn, state: Discovery) -> int:
    return (turn.settings_of(PathConfig).suggestions_per_page if state.matched
            else MAX_FEATURED)


async def suggest(turn: Turn) -> Transition:
    path = path_of(turn)
    state = path.discovery = path.discovery or Discovery()
    projects = turn.content.of(PathContent).projects
    ranked = [p for p in state.ranked if p in projects]
    if not ranked:
        _, order, state.matched = _matched(turn)
        ranked = state.ranked = list(order)
        state.offset = 0
    browse_all = " " + turn.t("!skip to browse all,") if len(ranked) < len(projects) else ""
    size = _page_size(turn, state)
    offset = state.offset
    if offset >= len(ranked):
        offset = state.offset = 0
    page = ranked[offset:offset + size]
    more = (" " + turn.t("!more for other suggestions,") if offset + size < len(ranked)
            else "")
    span = turn.t("{first} to {last} of {count}", first=offset + 1, last=offset + len(page),
                  count=len(ranked))
    if state.matched:
        heading = (turn.t("These projects fit you best:") if offset == 0 else
                   turn.t("Here are more projects ({span}; the numbers below are these):",
                          span=span))
    elif offset:
        heading = turn.t("More featured projects ({span}; the numbers below are these):",
                         span=span)
    else:
        # Nothing to rank by: the featured projects, in name order, numbered as shown.
        prof = profile(path)
        said = any(prof[k] for k in ("interests", "skills", "languages"))
        which = (turn.t("the featured projects ({span}):", span=span) if len(page) < len(ranked)
                 else turn.tn("the featured project:", "the {n} featured projects:",
                              len(ranked)))
        heading = (turn.t("I couldn't match your answers to a project, so here are {which}",
                          which=which) if said else
                   turn.t("You skipped the questions, so here are {which}", which=which))
    _show(turn, page, heading,
          turn.t("Pick one by number or name.{more}{browse_all} !back to change your answers.",
                 more=more, browse_all=browse_all),
          unmatched="" if not state.matched else turn.t("not a match for your answers, but it "
                                                         "welcomes newcomers"))
    return None


async def suggest_reply(turn: Turn) -> Transition:
    path = path_of(turn)
    state = path.discovery = path.discovery or Discovery()
    if turn.input.command == "more":
        state.offset += _page_size(turn, state)
        if state.offset >= len(state.ranked):
            turn.say(turn.t("That was every project; here are the best matches again.")
                     if state.matched else
                     turn.t("Those are all the featured projects; here they are again."))
        return Goto("suggest")
    if turn.input.command == "skip":
        return Goto("browse")
    return _pick_or_hint(turn)


async def browse(turn: Turn) -> Transition:
    projects = turn.content.of(PathContent).projects
    ids = sorted(projects, key=lambda p: projects[p].name.lower())
    _show(turn, ids, turn.t("All projects:"),
          turn.t("Pick one by number or name. !back to go back."))
    return None


async def browse_reply(turn: Turn) -> Transition:
    return _pick_or_hint(turn)


def _pick_or_hint(turn: Turn) -> Transition:
    if turn.choice and turn.choice in turn.content.of(PathContent).projects:
        return pick_project(turn, turn.choice)
    typed = turn.input.text.strip().lower()
    projects = turn.content.of(PathContent).projects
    for pid, project in projects.items():  # any project by name, shown or not
        if typed in (pid, project.name.lower()):
            return pick_project(turn, pid)
    named = named_project(projects, typed)  # "lingo please", "pagebto"
    if named is not None:
        return pick_project(turn, named)
    offered = turn.data.get("choices", [])
    shown = ", ".join(f"{n} {label}" for n, (_key, label) in enumerate(offered, 1))
    turn.say(turn.t("I didn't find that project. Pick a number from 1 to {count} ({shown}) "
                    "or type its name.", count=len(offered), shown=shown) if offered else
             turn.t("I didn't find that project. Type its name, or !back to go back."))
    return None


def named_project(projects: dict[str, Project], typed: str) -> str | None:
    """The one project a sentence names ("I'll take lingo"), or names with a typo or two
    ("pagebto"); None when it names none, or more than one."""
    said = set(words(typed))
    found = {pid for pid, p in projects.items() if {pid, p.name.lower()} & said}
    if not found:
        names = {pid: p.name.lower() for pid, p in projects.items()}
        found = {pid for word in said if len(word) >= 4 for pid in close_to(word, names)}
    return found.pop() if len(found) == 1 else None


def pick_project(turn: Turn, project_id: str) -> Transition:
    if task_elsewhere(turn, project_id):  # keep that task, or switch?
        path_of(turn).switch_to = project_id
        return Goto("switch", flow="first_task")
    project = turn.content.of(PathContent).projects[project_id]
    path_of(turn).project = project_id
    turn.event("project_chosen", project=project_id)
    text = turn.t("Great choice: {name}.", name=project.name)
    if project.channels:
        text += " " + turn.t("Its support channel is {channels}; say hi there any time.",
                             channels=channel_list(project))
    turn.say(text)
    if project.workshop:
        return Goto("step", flow="workshop")
    return Goto("offer", flow="first_task")


FLOW = Flow("discovery", steps=(
    Step("motive", enter=ask_motive, reply=motive_reply, commands=("skip",)),
    Step("welcome", enter=welcome, reply=welcome_reply, commands=("skip",)),
    _store_answer("interests", then="skills"),
    _store_answer("skills", then="languages"),
    _store_answer("languages", then="suggest"),
    Step("suggest", enter=suggest, reply=suggest_reply, back="languages",
         commands=("more", "skip")),
    Step("browse", enter=browse, reply=browse_reply, back="suggest"),
))
