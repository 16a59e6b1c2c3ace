"""Walking the project's URL conf: every pattern, with its full name and the view it calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the bare name, or "<unnamed …>"
    route: str  # the pattern text, for messages
    kwargs: tuple[str, ...]  # the names of the URL's keyword arguments
    callback: Any


def _kwarg_names(pattern: Any) -> list[str]:
    regex = pattern.pattern.regex
    return list(regex.groupindex)


def walk(
    resolvers: list[Any] | None = None, prefix: str = "", namespace: str = "", kwargs: tuple[str, ...] = ()
) -> Iterator[Route]:
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        names = (*kwargs, *_kwarg_names(entry))
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from walk(entry.url_patterns, text, ns, names)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else f"<unnamed {text}>"
            yield Route(name=name, route=text, kwargs=names, callback=entry.callback)
