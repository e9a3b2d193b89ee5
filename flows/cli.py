"""The features' command-line commands (Feature.cli, flows/<feature>/cli.py), for bot/cli.py.

Listed here, not taken from FEATURES (bot/wiring.py), so that `wayfinder --help` loads no
feature: each cli module imports only click; tests/test_cli.py checks this list against
FEATURES. Kept in the features' layer so that the core's command line names none of them.
"""

from __future__ import annotations

from bot.clikit import Register
from flows.crm import cli as crm_cli
from flows.events import cli as events_cli
from flows.mentoring import cli as mentoring_cli
from flows.path import cli as path_cli
from flows.privacy import cli as privacy_cli
from flows.tracker import cli as tracker_cli

FEATURE_CLI: tuple[Register, ...] = (path_cli.register, mentoring_cli.register,
                                     events_cli.register, tracker_cli.register,
                                     privacy_cli.register, crm_cli.register)
