"""Models declared once (type, default, meaning) and validated with every problem at once.

The settings, the theme's values and the issue are classes of :class:`Model`: each field is an
annotation, its default and its description, and ``Annotated`` adds what a value must look like
(``Field(ge=1)``, ``Field(pattern=...)``, an :class:`After` check). :meth:`Model.validate` reads
plain data (what TOML and YAML give) into frozen objects, or raises :class:`ValidationError`
listing every problem, each as ``loc``, ``type``, ``msg`` and ``input``, the way
:mod:`newsletter.model.validation` words them for editors.

This replaced pydantic, whose import and model building were the largest single cost of every
cold start (99-113 ms, 41 % of a build's instructions) for a few dozen fields of a few KB of
data. The semantics kept are pydantic's lax mode for the types used here (``"10"`` for a
number, ``1`` for ``true``, numbers as text where a model asks for it), with the same error
types and messages, so that the editor's messages did not change by a word. The one exception:
a number is not read as a date (pydantic took it as seconds since 1970).
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import types
from collections.abc import Callable, Iterator, Mapping
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    Self,
    TypedDict,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

__all__ = [
    "REQUIRED",
    "After",
    "ErrorDetails",
    "Field",
    "FieldInfo",
    "Model",
    "ValidationError",
]

Loc = tuple[str | int, ...]
#: What a validation is given besides the data: ``{"root": Path}`` for an issue's images.
Context = Mapping[str, Any]


class ErrorDetails(TypedDict, total=False):
    """One problem: where (``loc``, the keys down to the value), what kind, the message and
    the value found; ``ctx`` holds what the message was made from (``expected`` ...)."""

    type: str
    loc: Loc
    msg: str
    input: Any
    ctx: dict[str, Any]


class ValidationError(ValueError):
    """Every problem a :meth:`Model.validate` found, in the order of the fields."""

    def __init__(self, title: str, errors: list[ErrorDetails]) -> None:
        super().__init__(f"{len(errors)} problems validating {title}")
        self._errors = errors

    def errors(self) -> list[ErrorDetails]:
        return list(self._errors)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a field that must be given.
REQUIRED: Any = _Required()


class FieldInfo:
    """A field's declaration: default, meaning and constraints (see :func:`Field`)."""

    __slots__ = (
        "annotation",
        "default",
        "default_factory",
        "description",
        "ge",
        "gt",
        "le",
        "min_length",
        "pattern",
    )

    def __init__(
        self,
        default: Any = REQUIRED,
        *,
        default_factory: Callable[[], Any] | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        pattern: str | None = None,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.gt, self.ge, self.le = gt, ge, le
        self.min_length, self.pattern = min_length, pattern
        self.annotation: Any = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.default_factory is None

    def constraints(self) -> dict[str, Any]:
        """The constraints that are set, by name."""
        names = ("gt", "ge", "le", "min_length", "pattern")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def Field(
    default: Any = REQUIRED,
    *,
    default_factory: Callable[[], Any] | None = None,
    description: str | None = None,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    min_length: int | None = None,
    pattern: str | None = None,
) -> Any:
    """A field's default, description and constraints: ``port: int = Field(587, ge=1)``.

    An empty table or list defaults to ``{}`` or ``[]`` (copied for each object). Typed as
    ``Any`` so that the class body reads ``name: str = Field(...)``.
    """
    return FieldInfo(
        default,
        default_factory=default_factory,
        description=description,
        gt=gt,
        ge=ge,
        le=le,
        min_length=min_length,
        pattern=pattern,
    )


class After:
    """A check run after the type's, in ``Annotated[str, After(check)]``: ``check`` returns the
    value or raises :class:`ValueError` with the message; with ``context`` it is also given
    the validation's context (``check(value, context)``)."""

    __slots__ = ("check", "context")

    def __init__(self, check: Callable[..., Any], *, context: bool = False) -> None:
        self.check = check
        self.context = context


#: A compiled check: ``(value, loc, errors, context) -> value or _BAD``.
_Check = Callable[[Any, Loc, list[ErrorDetails], Context], Any]
_BAD: Any = object()
_NONE = type(None)
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A whole number as text, as pydantic read one: `` 5 ``, ``+5``, ``1_000``, ``5.0``.
_INT_TEXT = r"\s*([+-]?\d+(?:_\d+)*)(?:\.0*)?\s*"  # compiled by the first number as text


def _error(
    errors: list[ErrorDetails], kind: str, loc: Loc, msg: str, value: Any, **ctx: Any
) -> Any:
    detail: ErrorDetails = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx:
        detail["ctx"] = ctx
    errors.append(detail)
    return _BAD


class _Options:
    """How a model reads text: stripped, and numbers taken as text (the issue's models)."""

    __slots__ = ("numbers_to_str", "strip")

    def __init__(self, strip: bool, numbers_to_str: bool) -> None:
        self.strip, self.numbers_to_str = strip, numbers_to_str


def _whole(value: Any) -> bool:
    """Whether ``value`` is ``true``/``false`` or a float without a fraction: what an integer
    choice also takes."""
    return isinstance(value, bool) or (isinstance(value, float) and value.is_integer())


def _literal_words(choices: tuple[Any, ...]) -> str:
    shown = [repr(choice) for choice in choices]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _compile(annotation: Any, info: FieldInfo | None, options: _Options) -> _Check:
    """The check of a value of type ``annotation`` with the constraints of ``info``."""
    checks: list[After] = []
    if get_origin(annotation) is Annotated:
        annotation, *meta = get_args(annotation)
        merged = FieldInfo()
        for source in (*(m for m in meta if isinstance(m, FieldInfo)), info):
            for name, value in (source.constraints() if source else {}).items():
                setattr(merged, name, value)
        info = merged
        checks = [m for m in meta if isinstance(m, After)]
    base = _compile_type(annotation, info or FieldInfo(), options)
    if not checks:
        return base

    def after(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        value = base(value, loc, errors, context)
        if value is _BAD:
            return _BAD
        for check in checks:
            try:
                value = check.check(value, context) if check.context else check.check(value)
            except ValueError as error:
                return _error(errors, "value_error", loc, f"Value error, {error}", value)
        return value

    return after


def _compile_type(annotation: Any, info: FieldInfo, options: _Options) -> _Check:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and _NONE in args:
        rest = [arg for arg in args if arg is not _NONE]
        if len(rest) != 1:
            raise TypeError(f"a model field may be one type or None, not {annotation!r}")
        inner = _compile(rest[0], info, options)

        def optional(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
            return None if value is None else inner(value, loc, errors, context)

        return optional
    if annotation is Any:
        return lambda value, loc, errors, context: value
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation._check
    if origin is Literal:
        words = _literal_words(args)

        def literal(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
            for choice in args:
                if value == choice and (
                    type(value) is type(choice) or (type(choice) is int and _whole(value))
                ):
                    return choice
            return _error(
                errors, "literal_error", loc, f"Input should be {words}", value, expected=words
            )

        return literal
    if origin is list:
        item = _compile(args[0], None, options)

        def items(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
            if not isinstance(value, list | tuple):
                return _error(errors, "list_type", loc, "Input should be a valid list", value)
            out = [item(v, (*loc, i), errors, context) for i, v in enumerate(value)]
            return _BAD if any(v is _BAD for v in out) else out

        return items
    if origin is dict:
        key_check, value_check = (_compile(arg, None, options) for arg in args)

        def mapping(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
            if not isinstance(value, dict):
                return _error(errors, "dict_type", loc, "Input should be a valid dictionary", value)
            out = {}
            bad = False
            for key, item in value.items():
                checked_key = key_check(key, (*loc, key), errors, context)
                checked = value_check(item, (*loc, key), errors, context)
                bad = bad or checked_key is _BAD or checked is _BAD
                out[checked_key] = checked
            return _BAD if bad else out

        return mapping
    scalar = _SCALARS.get(annotation)
    if scalar is None:
        raise TypeError(f"a model field cannot be of type {annotation!r}")
    return scalar(info, options)


def _text(info: FieldInfo, options: _Options) -> _Check:
    min_length, pattern = info.min_length, info.pattern
    compiled = re.compile(pattern) if pattern is not None else None

    def text(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        if type(value) is not str:
            number = isinstance(value, int | float) and type(value) is not bool
            if isinstance(value, str) or (options.numbers_to_str and number):
                value = str(value)
            else:
                return _error(errors, "string_type", loc, "Input should be a valid string", value)
        if options.strip:
            value = value.strip()
        if min_length is not None and len(value) < min_length:
            plural = "" if min_length == 1 else "s"
            return _error(
                errors,
                "string_too_short",
                loc,
                f"String should have at least {min_length} character{plural}",
                value,
                min_length=min_length,
            )
        if compiled is not None and not compiled.search(value):
            return _error(
                errors,
                "string_pattern_mismatch",
                loc,
                f"String should match pattern '{pattern}'",
                value,
                pattern=pattern,
            )
        return value

    return text


def _bounded(info: FieldInfo) -> Callable[[Any, Loc, list[ErrorDetails], Any], Any]:
    """The ``gt``/``ge``/``le`` bounds of a number, each with pydantic's words."""
    bounds = [
        (name, limit, kind, words)
        for name, limit, kind, words in (
            ("gt", info.gt, "greater_than", "greater than"),
            ("ge", info.ge, "greater_than_equal", "greater than or equal to"),
            ("le", info.le, "less_than_equal", "less than or equal to"),
        )
        if limit is not None
    ]

    def bound(number: Any, loc: Loc, errors: list[ErrorDetails], value: Any) -> Any:
        for name, limit, kind, words in bounds:
            within = {"gt": number > limit, "ge": number >= limit, "le": number <= limit}[name]
            if not within:
                return _error(
                    errors, kind, loc, f"Input should be {words} {limit}", value, **{name: limit}
                )
        return number

    return bound


def _integer(info: FieldInfo, options: _Options) -> _Check:
    bound = _bounded(info)

    def integer(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        if isinstance(value, int):
            number = int(value)
        elif isinstance(value, float):
            if not value.is_integer():
                return _error(
                    errors,
                    "int_from_float",
                    loc,
                    "Input should be a valid integer, got a number with a fractional part",
                    value,
                )
            number = int(value)
        elif isinstance(value, str):
            written = re.fullmatch(_INT_TEXT, value)
            if not written:
                return _error(
                    errors,
                    "int_parsing",
                    loc,
                    "Input should be a valid integer, unable to parse string as an integer",
                    value,
                )
            number = int(written[1])
        else:
            return _error(errors, "int_type", loc, "Input should be a valid integer", value)
        return bound(number, loc, errors, value)

    return integer


def _number(info: FieldInfo, options: _Options) -> _Check:
    bound = _bounded(info)

    def number(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value)
            except ValueError:
                return _error(
                    errors,
                    "float_parsing",
                    loc,
                    "Input should be a valid number, unable to parse string as a number",
                    value,
                )
        else:
            return _error(errors, "float_type", loc, "Input should be a valid number", value)
        return bound(result, loc, errors, value)

    return number


def _boolean(info: FieldInfo, options: _Options) -> _Check:
    def boolean(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        if value is True or value is False:
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if isinstance(value, str) or (isinstance(value, int) and -(2**63) <= value < 2**63):
            return _error(
                errors,
                "bool_parsing",
                loc,
                "Input should be a valid boolean, unable to interpret input",
                value,
            )
        return _error(errors, "bool_type", loc, "Input should be a valid boolean", value)

    return boolean


def _date(info: FieldInfo, options: _Options) -> _Check:
    def date(value: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        if isinstance(value, dt.datetime):
            if value.time() != dt.time():
                return _error(
                    errors,
                    "date_from_datetime_inexact",
                    loc,
                    "Datetimes provided to dates should have zero time - e.g. be exact dates",
                    value,
                )
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            if _ISO_DATE.fullmatch(value):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            return _error(
                errors,
                "date_parsing",
                loc,
                "Input should be a valid date in the format YYYY-MM-DD",
                value,
            )
        return _error(errors, "date_type", loc, "Input should be a valid date", value)

    return date


_SCALARS: dict[Any, Callable[[FieldInfo, _Options], _Check]] = {
    str: _text,
    int: _integer,
    float: _number,
    bool: _boolean,
    dt.date: _date,
}


class Model:
    """A frozen record of validated fields; subclasses declare them as annotated attributes.

    ``class Image(Model, strip=True, numbers_to_str=True)`` strips text and takes a number
    where text is wanted (an issue's ``headline: 1989``); without, a number is a problem. An
    attribute whose name starts with ``_`` is private state, not a field. Unknown keys are
    always problems: a misspelt setting must not pass silently.
    """

    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    _options: ClassVar[_Options] = _Options(False, False)
    _fields: ClassVar[tuple[tuple[str, _Check, FieldInfo], ...]] = ()

    def __init_subclass__(
        cls, *, strip: bool | None = None, numbers_to_str: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        parent = cls._options
        cls._options = _Options(
            parent.strip if strip is None else strip,
            parent.numbers_to_str if numbers_to_str is None else numbers_to_str,
        )
        fields = dict(cls.model_fields)
        for name, annotation in inspect.get_annotations(cls).items():
            if name.startswith("_"):
                continue
            declared = cls.__dict__.get(name, REQUIRED)
            info = declared if isinstance(declared, FieldInfo) else FieldInfo(declared)
            info.annotation = annotation
            fields[name] = info
            if name in cls.__dict__:
                delattr(cls, name)
        cls.model_fields = fields
        cls._fields = tuple(
            (name, _compile(info.annotation, info, cls._options), info)
            for name, info in fields.items()
        )

    def __init__(self, **data: Any) -> None:
        """Validate ``data`` as :meth:`validate` does (for code that makes one by hand)."""
        self.__dict__.update(type(self).validate(data).__dict__)

    @classmethod
    def validate(cls: type[_M], data: Any, context: Context | None = None) -> _M:
        """``data`` as an object of this model, or :class:`ValidationError` with every problem."""
        errors: list[ErrorDetails] = []
        result = cls._check(data, (), errors, context or {})
        if errors:
            raise ValidationError(cls.__name__, errors)
        assert isinstance(result, cls)
        return result

    @classmethod
    def _check(cls, data: Any, loc: Loc, errors: list[ErrorDetails], context: Context) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            return _error(
                errors,
                "model_type",
                loc,
                f"Input should be a valid dictionary or instance of {cls.__name__}",
                data,
                class_name=cls.__name__,
            )
        values: dict[str, Any] = {}
        bad = False
        for name, check, info in cls._fields:
            if name in data:
                value = check(data[name], (*loc, name), errors, context)
                bad = bad or value is _BAD
            elif info.default_factory is not None:
                value = info.default_factory()
            elif info.default is REQUIRED:
                bad = _error(errors, "missing", (*loc, name), "Field required", data) is _BAD
                continue
            else:
                value = info.default
                if isinstance(value, dict | list):
                    value = value.copy()
            values[name] = value
        fields = cls.model_fields
        for key, value in data.items():
            if not isinstance(key, str):  # YAML's ``1:`` or ``~:``; named as pydantic named it
                place = int(key) if isinstance(key, int) else str(key)
                bad = _error(errors, "invalid_key", (*loc, place), "Keys should be strings", key)
            elif key not in fields:
                message = "Extra inputs are not permitted"
                bad = _error(errors, "extra_forbidden", (*loc, key), message, value) is _BAD
        if bad:
            return _BAD
        made = object.__new__(cls)
        made.__dict__.update(values)
        return made

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")
        object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in self.model_fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Model)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self.model_fields)
        return f"{type(self).__name__}({shown})"

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Self:
        """A copy with the fields in ``update`` replaced, not validated again (like
        :func:`dataclasses.replace` without its checks); private state goes with it."""
        made = object.__new__(type(self))
        made.__dict__.update(self.__dict__)
        made.__dict__.update(update or {})
        return made

    def model_dump(self, *, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """The fields (but those in ``exclude``) as plain data: models become dictionaries."""
        return {
            name: _dumped(self.__dict__[name]) for name in self.model_fields if name not in exclude
        }


_M = TypeVar("_M", bound=Model)


def _dumped(value: Any) -> Any:
    if isinstance(value, Model):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_dumped(item) for item in value]
    if isinstance(value, dict):
        return {key: _dumped(item) for key, item in value.items()}
    return value


def models_under(model: type[Model]) -> Iterator[type[Model]]:
    """``model`` and every model its fields hold, each once, depth first."""
    seen: dict[type[Model], None] = {}

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, Model):
            if tp in seen:
                return
            seen[tp] = None
            for info in tp.model_fields.values():
                visit(info.annotation)
            return
        for arg in get_args(tp):
            visit(arg)

    visit(model)
    yield from seen
