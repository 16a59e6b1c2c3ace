"""docs/benchmarks.md: each benchmark rewrites its own section and leaves the others as they are."""

from __future__ import annotations

from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def replace_section(head: str, lines: list[str]) -> None:
    """Put ``lines`` (starting with ``head``, a ``## `` heading) in place of that section, or append them."""
    text = PATH.read_text() if PATH.exists() else "# Benchmarks\n"
    section = "\n".join(lines).rstrip("\n") + "\n\n"  # a blank line before the next section
    start = text.find(head)
    if start != -1:
        end = text.find("\n## ", start + len(head))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    PATH.write_text(text.rstrip() + "\n")
