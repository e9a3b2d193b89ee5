"""The weekly digest for mentors and organizers: a due job, off unless [digest] enabled."""

from __future__ import annotations

from bot.feature import Feature
from flows.digest import weekly
from flows.digest.reads import DigestReads
from flows.digest.settings import DigestConfig

FEATURE = Feature(
    name=weekly.FEATURE_NAME,
    jobs=(weekly.digests,),
    settings=DigestConfig,
    reads=DigestReads,
    project=weekly.reader,
    project_inputs=weekly.READER_INPUTS,
)
