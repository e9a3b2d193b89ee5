"""Matching what a newcomer says ("I want to help translate", "I'm a teacher") to projects.

Words are stemmed (snowballstemmer), so "translate" finds the tag "translation"; a word a
letter or two off a known one (rapidfuzz) counts as that word; a role noun finds its activity
("teacher" finds "teaching", "designer" finds "design"); content may give a tag, skill or
language other words (content/aliases.toml); a project's summary is weak evidence. The index
is built once per content version (the first time someone needs it), not per message.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache

# Facets, strongest first: what a newcomer reads in "Why:".
INTEREST, SKILL, LANGUAGE, SUMMARY = "interest", "skill", "language", "summary"
WEIGHTS = {INTEREST: 3, SKILL: 2, LANGUAGE: 3, SUMMARY: 1}

_WORD = re.compile(r"[^\W_](?:[\w+#]|[.-](?=\w))*[+#]*")
# Words that say nothing about a person's interests (and would match by accident).
STOPWORDS = frozenset("""
a about above after again all am an and any are as at be because been being both but
by can could did do does doing done each even ever few for from get got had has have
having he her here hers him his how i if in into is it its just like
likes liked love loved loves me more most my myself no none nor not now of off on once only or
other our out over own quite rather really same she should so some something such than that
the their them then there these they thing things this those through to too try trying under
until up us very want wanted wants was we well were what when where which while who whom why
will with would yes yet you your yours also bit lot lots little much many maybe perhaps
know knows knew learn learning learned help helping helped work working worked job
good great nice enjoy enjoyed interested interest interests into skill skills kind sort stuff
project projects contribute contributing contribution start started starting new newcomer
person people someone anything everything use used using make making do doing thanks
please hi hello hey one two three bit already still since years year day days experience
im ive id dont doesnt didnt cant isnt wont whats thats theres lets
""".split())  # noqa: SIM905  (a word list reads better as words)
MAX_WORDS = 40  # of one person's answers: a pasted essay costs no more than a paragraph
_ROLE_SUFFIXES = ("er", "or", "ist", "ian", "ant")


@cache
def _stemmer() -> object:
    import snowballstemmer  # loaded on first use: the bot starts without it

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=8192)  # snowballstemmer is pure Python: a word costs about 0.2 ms
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))  # type: ignore[attr-defined]


def words(text: str) -> list[str]:
    """The lowercased words of `text`, keeping "c++", "c#" and "node.js" whole; a hyphenated
    word counts whole and as its parts ("community-made")."""
    found = _WORD.findall(text.lower().replace("'", "").replace("\u2019", ""))
    return [part for word in found
            for part in ([word, *word.split("-")] if "-" in word else [word]) if part]


def _fuzzy_distance(word: str) -> int:
    """How many letters may be off: none for short words ("go" is not "so")."""
    return 0 if len(word) < 5 else 1 if len(word) < 9 else 2


def close_to(word: str, candidates: Mapping[str, str]) -> list[str]:
    """The keys of the candidates a typo or two away from `word` (none for short words)."""
    limit = _fuzzy_distance(word)
    if limit == 0:
        return []
    from rapidfuzz.distance import OSA
    from rapidfuzz.process import extract

    return [key for _, _, key in extract(word, candidates, scorer=OSA.distance,
                                         score_cutoff=limit, limit=None)]


@dataclass(frozen=True)
class Term:
    """A tag, skill or language of some project, as a newcomer reads it."""

    facet: str
    label: str  # as the content spells it


@dataclass(frozen=True)
class Hit:
    project: str
    facet: str
    label: str


@dataclass
class MatchIndex:
    """Each project's terms by stem sequence, built once per content version."""

    # A phrase (its stems, in order) -> the terms it names, per project.
    phrases: dict[tuple[str, ...], set[tuple[str, Term]]] = field(default_factory=dict)
    vocabulary: set[str] = field(default_factory=set)  # every stem of a term or alias
    summary: dict[str, dict[str, str]] = field(default_factory=dict)  # project -> stem -> word
    # The phrases by their first stem: a match looks only at those that may be named (every
    # phrase once per answer was most of a suggestion's time).
    by_first: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def add(self, project: str, term: Term, phrase: str) -> None:
        stems = tuple(stem(w) for w in words(phrase) if w not in STOPWORDS) or tuple(
            stem(w) for w in words(phrase))
        if stems:
            if stems not in self.phrases:
                self.by_first.setdefault(stems[0], []).append(stems)
            self.phrases.setdefault(stems, set()).add((project, term))
            self.vocabulary.update(stems)

    def add_summary(self, project: str, text: str) -> None:
        found = self.summary.setdefault(project, {})
        for word in words(text):
            if len(word) > 3 and word not in STOPWORDS:
                found.setdefault(stem(word), word)

    def _known(self, word: str) -> list[str]:
        """The vocabulary stems a typed word stands for: its stem, the activity of a role
        noun ("teacher" -> "teach"), or a known stem a typo or two away."""
        own = stem(word)
        found = [own] if own in self.vocabulary else []
        for suffix in _ROLE_SUFFIXES:
            if own.endswith(suffix) and len(own) - len(suffix) >= 4:
                root = own[: -len(suffix)]
                roots = {root, root + "e", stem(root)}
                if len(root) > 1 and root[-1] == root[-2]:
                    roots.add(root[:-1])  # programmer -> program
                found += [r for r in roots if r in self.vocabulary]
        if found:
            return found
        limit = _fuzzy_distance(word)
        if limit == 0:
            return []
        from rapidfuzz.distance import OSA
        from rapidfuzz.process import extractOne

        best = extractOne(own, self.vocabulary, scorer=OSA.distance,
                          score_cutoff=limit)
        if best is None:
            best = extractOne(word, self.vocabulary, scorer=OSA.distance,
                              score_cutoff=limit)
        return [best[0]] if best is not None and len(best[0]) >= 4 else []

    def match(self, answers: Iterable[str]) -> list[Hit]:
        """What the answers name: each project's terms found, and summary words."""
        typed = [w for answer in answers for w in words(answer)]
        seen = [w for w in typed if w not in STOPWORDS][:MAX_WORDS]
        known = [self._known(w) for w in seen]
        stems = {s for options in known for s in options}
        hits: set[Hit] = set()
        for first in stems:
            for phrase in self.by_first.get(first, ()):
                if all(s in stems for s in phrase):
                    hits.update(Hit(p, t.facet, t.label) for p, t in self.phrases[phrase])
        said = stems | {stem(w) for w in seen if len(w) > 3}
        for project, summary in self.summary.items():
            for s in said & summary.keys():
                hits.add(Hit(project, SUMMARY, summary[s]))
        return sorted(hits, key=lambda h: (h.project, h.facet, h.label))


def build_index(projects: Mapping[str, tuple[Iterable[str], Iterable[str], Iterable[str], str]],
                aliases: Mapping[str, tuple[str, ...]]) -> MatchIndex:
    """`projects`: id -> (tags, skills, languages, summary); `aliases`: a term -> other words
    for it, for every project that has the term."""
    index = MatchIndex()
    lowered = {k.lower(): v for k, v in aliases.items()}
    for pid, (tags, skills, languages, summary) in projects.items():
        for facet, labels in ((INTEREST, tags), (SKILL, skills), (LANGUAGE, languages)):
            for label in labels:
                term = Term(facet, label)
                index.add(pid, term, label)
                for alias in lowered.get(label.lower(), ()):
                    index.add(pid, term, alias)
        index.add_summary(pid, summary)
    # A word in most summaries (the community's name) tells one project from no other.
    spread = Counter(s for found in index.summary.values() for s in found)
    common = {s for s, count in spread.items() if count > 1 and count > len(index.summary) / 2}
    for found in index.summary.values():
        for word in common & found.keys():
            del found[word]
    return index


def score(hits: Iterable[Hit]) -> int:
    """Points for one project's hits: each thing named counts once, at its strongest facet
    ("writing" as a tag and a skill is one match), and a summary word a term already names
    adds nothing."""
    hits = list(hits)
    named = {stem(w) for h in hits if h.facet != SUMMARY for w in words(h.label)}
    best: dict[str, int] = {}
    for hit in hits:
        if hit.facet == SUMMARY and stem(hit.label) in named:
            continue
        key = hit.label.lower()
        best[key] = max(best.get(key, 0), WEIGHTS[hit.facet])
    return sum(best.values())
