"""Frozen records: what ``@dataclass(frozen=True)`` gives the package's value types (an
``__init__`` by field, equality, a hash, a repr, no assignment), without its cost at import.

A dataclass compiles six methods from generated source for each class, about a millisecond of
every cold start per class: the model's ten value types cost a cold build more than all its
settings models. A :class:`Record` reads its fields' names from the annotations once, when the
class is made, and shares one implementation of each method. Type checkers see a dataclass
(PEP 681), and so do ``dataclasses.fields()``, ``replace()`` and ``asdict()``;
``dataclasses.field(default_factory=...)`` declares a default made per object. The fields are
not validated: these are values the tool makes itself.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, ClassVar, dataclass_transform

__all__ = ["Record"]

_MISSING: Any = dataclasses.MISSING


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
class Record:
    """Subclass and annotate the fields; a default may be a value or ``field(...)``."""

    _names: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, tuple[Any, Any]]] = {}
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = list(cls._names)
        defaults = dict(cls._defaults)
        described = dict(getattr(cls, "__dataclass_fields__", {}))
        for name, annotation in inspect.get_annotations(cls).items():
            declared = cls.__dict__.get(name, _MISSING)
            if isinstance(declared, dataclasses.Field):
                defaults[name] = (declared.default, declared.default_factory)
                delattr(cls, name)
            elif declared is not _MISSING:
                defaults[name] = (declared, _MISSING)
            if name not in names:
                names.append(name)
            default, factory = defaults.get(name, (_MISSING, _MISSING))
            described[name] = _describe(name, annotation, default, factory)
        cls._names, cls._defaults = tuple(names), defaults
        # What dataclasses.fields(), replace() and asdict() read: a record is one to them.
        cls.__dataclass_fields__ = described

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self._names
        # The two calls a record mostly gets: every field in order, or every field by name
        # (``dataclasses.replace``); the general case below also fills in defaults.
        if not kwargs and len(args) == len(names):
            self.__dict__.update(zip(names, args, strict=True))
            return
        if not args and len(kwargs) == len(names) and all(name in kwargs for name in names):
            self.__dict__.update((name, kwargs[name]) for name in names)
            return
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} fields, got {len(args)}")
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {name!r}")
            values[name] = value
        for name in names[len(args) :]:
            if name not in values:
                default, factory = self._defaults.get(name, (_MISSING, _MISSING))
                if default is _MISSING and factory is _MISSING:
                    raise TypeError(f"{type(self).__name__}: missing field {name!r}")
                values[name] = factory() if factory is not _MISSING else default
        self.__dict__.update((name, values[name]) for name in names)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in self._names)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._names)
        return f"{type(self).__qualname__}({shown})"


def _describe(name: str, annotation: Any, default: Any, factory: Any) -> dataclasses.Field[Any]:
    """The ``dataclasses.Field`` of a record's field, as ``@dataclass`` would have made it."""
    described: dataclasses.Field[Any] = dataclasses.field(default=default, default_factory=factory)
    described.name, described.type = name, annotation
    described._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
    return described
