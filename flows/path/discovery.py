"""Step 1, "Find your project": a few questions, then ranked suggestions."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from bot.content import Content
from bot.flow import Flow, Goto, Step, Transition, Turn
from bot.model import Choice
from bot.text import one_line
from flows.path.content import PathContent, Project
from flows.path.progress import channel_list, contact_lines, path_of, profile
from flows.path.settings import PathConfig
from flows.path.state import Discovery

MAX_OPTIONS = 8
_WORD = re.compile(r"[\w+#.-]+")


def _options(values: Iterable[str]) -> list[Choice]:
    counts = Counter(v.lower() for v in values)
    ranked = sorted(counts, key=lambda v: (-counts[v], v))[:MAX_OPTIONS]
    return [Choice(v, v) for v in ranked]


def _answers(turn: Turn) -> list[str]:
    return [one_line(w, 60).lower() for w in [*turn.picked, *turn.free] if w.strip()]


async def welcome(turn: Turn) -> Transition:
    origin = turn.content.of(PathContent).projects.get(path_of(turn).origin)
    if origin is None:
        return Goto("interests")
    turn.say(f"Welcome to {origin.name}! {origin.summary}.\n"
             f"Would you like to start right away with its step-by-step workshop, or first see "
             "which other projects might suit you?",
             [Choice("workshop", f"Start the {origin.name} workshop"),
              Choice("browse", "Show me other projects")])
    return None


async def welcome_reply(turn: Turn) -> Transition:
    if turn.input.command == "skip":
        return Goto("browse")
    if turn.choice == "workshop":
        return pick_project(turn, path_of(turn).origin)
    if turn.choice == "browse":
        return Goto("interests")
    turn.say("Please pick 1 to start the workshop or 2 to see other projects.")
    return None


def _ask(turn: Turn, question: str, values: Iterable[str]) -> None:
    turn.say(f"{question}\nPick one or more by number or word (separate them with commas), "
             "or say it in your own words. !skip if you'd rather not say.", _options(values))


async def ask_interests(turn: Turn) -> Transition:
    turn.say("Hi, I'm Wayfinder! I'll help you find a project that fits you, get you set up, "
             "and hand you a first task with a mentor. Three quick questions first.")
    _ask(turn, "What are you interested in?",
         (t for p in turn.content.of(PathContent).projects.values() for t in p.tags))
    return None


async def ask_skills(turn: Turn) -> Transition:
    _ask(turn, "What are you good at, or want to learn?",
         (s for p in turn.content.of(PathContent).projects.values() for s in p.skills))
    return None


async def ask_languages(turn: Turn) -> Transition:
    _ask(turn, "Which programming languages do you code in? (None yet is fine: say none.)",
         (lang for p in turn.content.of(PathContent).projects.values() for lang in p.languages))
    return None


def _store_answer(field: str, then: str) -> Step:
    async def reply(turn: Turn) -> Transition:
        answers = [] if turn.input.command == "skip" else _answers(turn)
        path = path_of(turn)
        profile(path)[field] = [a for a in answers if a != "none"]
        path.discovery = None  # answers changed: rank again
        return Goto(then)

    return Step(field, enter={"interests": ask_interests, "skills": ask_skills,
                              "languages": ask_languages}[field],
                reply=reply, commands=("skip",), multi_choice=True,
                back={"interests": None, "skills": "interests", "languages": "skills"}[field])


def _words(values: Iterable[str]) -> set[str]:
    return {w for v in values for w in _WORD.findall(v.lower())}


def score(project: Project, interests: list[str], skills: list[str],
          languages: list[str]) -> tuple[int, list[str]]:
    """How well a project fits, and the reasons, in words a newcomer reads."""
    reasons: list[str] = []
    points = 0
    tags = {t.lower() for t in project.tags}
    project_skills = {s.lower() for s in project.skills}
    langs = {lang.lower() for lang in project.languages}
    for label, wanted, offered, weight in (
        ("your interest in", interests, tags, 3),
        ("your skills in", skills, project_skills, 2),
        ("you code in", languages, langs, 3),
    ):
        hits = sorted(offered & ({w.lower() for w in wanted} | _words(wanted)))
        if hits:
            points += weight * len(hits)
            reasons.append(f"{label} {', '.join(hits)}")
    summary_hits = _words([*interests, *skills]) & _words([project.summary]) - tags
    summary_hits = {w for w in summary_hits if len(w) > 3}
    if summary_hits:
        points += len(summary_hits)
        reasons.append(f"it is about {', '.join(sorted(summary_hits))}")
    if project.featured:
        points += 1
    return points, reasons


def rank(content: Content, prof: dict[str, list[str]]) -> list[str]:
    """Featured projects, best match first (!skip browses every project)."""
    featured = {pid: p for pid, p in content.of(PathContent).projects.items() if p.featured}
    scored = [(score(p, prof["interests"], prof["skills"], prof["languages"])[0], p.name, pid)
              for pid, p in (featured or content.of(PathContent).projects).items()]
    return [pid for _, _, pid in sorted(scored, key=lambda s: (-s[0], s[1]))]


def card(project: Project, why: str) -> str:
    lines = [f"* {project.name}: {project.summary}", f"  Why: {why}"]
    if project.docs:
        lines.append(f"  Docs: {project.docs}")
    return "\n".join(lines + contact_lines(project, "  "))


def _show(turn: Turn, ids: list[str], heading: str, footer: str) -> None:
    prof = profile(path_of(turn))
    cards = []
    for pid in ids:
        project = turn.content.of(PathContent).projects[pid]
        _, reasons = score(project, prof["interests"], prof["skills"], prof["languages"])
        cards.append(card(project, "; ".join(reasons) if reasons
                          else "a featured project that welcomes newcomers"))
    turn.say(heading + "\n\n" + "\n\n".join(cards) + "\n\n" + footer,
             [Choice(pid, turn.content.of(PathContent).projects[pid].name) for pid in ids])


async def suggest(turn: Turn) -> Transition:
    path = path_of(turn)
    state = path.discovery = path.discovery or Discovery()
    ranked = [p for p in state.ranked if p in turn.content.of(PathContent).projects]
    if not ranked:
        ranked = rank(turn.content, profile(path))
        state.ranked = ranked
        state.offset = 0
    size = turn.settings_of(PathConfig).suggestions_per_page
    offset = state.offset
    if offset >= len(ranked):
        offset = state.offset = 0
    page = ranked[offset:offset + size]
    more = " !more for other suggestions," if offset + size < len(ranked) else ""
    heading = ("These projects fit you best:" if offset == 0
               else "Here are more projects:")
    _show(turn, page, heading,
          f"Pick one by number or name.{more} !skip to browse all, !back to change answers.")
    return None


async def suggest_reply(turn: Turn) -> Transition:
    path = path_of(turn)
    state = path.discovery = path.discovery or Discovery()
    if turn.input.command == "more":
        state.offset += turn.settings_of(PathConfig).suggestions_per_page
        if state.offset >= len(state.ranked):
            turn.say("That was every project; here are the best matches again.")
        return Goto("suggest")
    if turn.input.command == "skip":
        return Goto("browse")
    return _pick_or_hint(turn)


async def browse(turn: Turn) -> Transition:
    projects = turn.content.of(PathContent).projects
    ids = sorted(projects, key=lambda p: projects[p].name.lower())
    _show(turn, ids, "All projects:", "Pick one by number or name. !back to go back.")
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
    offered = len(turn.data.get("choices", []))
    turn.say(f"I didn't find that project. Pick a number from 1 to {offered} or type its name.")
    return None


def pick_project(turn: Turn, project_id: str) -> Transition:
    project = turn.content.of(PathContent).projects[project_id]
    path_of(turn).project = project_id
    turn.event("project_chosen", project=project_id)
    text = f"Great choice: {project.name}."
    if project.channels:
        text += f" Its support channel is {channel_list(project)}; say hi there any time."
    turn.say(text)
    if project.workshop:
        return Goto("step", flow="workshop")
    return Goto("offer", flow="first_task")


FLOW = Flow("discovery", steps=(
    Step("welcome", enter=welcome, reply=welcome_reply, commands=("skip",)),
    _store_answer("interests", then="skills"),
    _store_answer("skills", then="languages"),
    _store_answer("languages", then="suggest"),
    Step("suggest", enter=suggest, reply=suggest_reply, back="languages",
         commands=("more", "skip")),
    Step("browse", enter=browse, reply=browse_reply, back="suggest"),
))
