"""A memo bounded by the size of what it remembers: the entries used least recently are forgotten first.

Agents send the same texts (instructions, tool definitions, earlier turns) again and again, so remembering the work
done on each distinct text saves most of it; but over millions of calls the distinct texts would fill memory. The
bound is on the characters of the keys (the texts), which is what grows.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    """Text -> result, forgetting the least recently used entries once the keys pass ``max_chars`` characters."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._items: OrderedDict[str, V] = OrderedDict()
        self._chars = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        if key in self._items:
            self._items.move_to_end(key)
            self._items[key] = value
            return
        self._items[key] = value
        self._chars += len(key)
        while self._chars > self.max_chars and len(self._items) > 1:
            old, _ = self._items.popitem(last=False)
            self._chars -= len(old)
