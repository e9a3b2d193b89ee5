"""Regenerate the README's walk-through from a real run: `wayfinder chat` on the bundled demo
content in a scratch folder, one line at a time, each reply read as the bot prints it.

    .venv/bin/python scripts/walkthrough.py --write README.md   # or --print
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = ["!start", "I want to help translate, and I like maps", "!skip", "none", "!back",
          "!back", "!skip", "!skip", "!skip", "Handbook", "done", "[Lumen](https://lumen.test)",
          "done", "https://code.lumen.test/handbook/handbook/merge_requests/9",
          "https://code.lumen.test/handbook/handbook/-/merge_requests/9",
          "how do I open the file?", "!done", "!status"]
BEGIN = "<!-- walkthrough:begin (scripts/walkthrough.py --write README.md) -->"
END = "<!-- walkthrough:end -->"
QUIET = 1.5  # seconds without output: the bot has answered


def _read_reply(stream: int) -> str:
    chunks: list[bytes] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], QUIET)
        if not ready:
            if chunks:
                break
            continue
        chunk = os.read(stream, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode().strip()


def transcript() -> str:
    with tempfile.TemporaryDirectory(prefix="wayfinder-walk-") as folder:
        bot = subprocess.Popen([sys.executable, "-m", "bot", "chat", "--as", "ada"], cwd=folder,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        assert bot.stdin is not None
        assert bot.stdout is not None
        lines = []
        for said in SCRIPT:
            bot.stdin.write(f"{said}\n".encode())
            bot.stdin.flush()
            lines += [f"> {said}", "", _read_reply(bot.stdout.fileno()), ""]
        bot.stdin.close()
        bot.wait(30)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", type=Path, help="replace the walk-through in this file")
    args = parser.parse_args()
    text = transcript()
    if args.write is None:
        print(text)
        return
    readme = args.write.read_text(encoding="utf-8")
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    args.write.write_text(f"{readme[:start]}\n```text\n{text}```\n{readme[end:]}",
                          encoding="utf-8")


if __name__ == "__main__":
    main()
