"""Records: small immutable value classes, written once, without `dataclasses`.

`dataclasses` imports `inspect` (with `ast`, `dis`, `tokenize`) and generates each class's methods
with `exec` at import time: on the launch path that was ~15 ms of a ~50 ms launch (issue 16,
docs/performance.md). A record is declared the way a frozen dataclass is::

    class Identity(Record):
        project: str
        component: str
        environment: str = "development"

    class Parameter(Record):
        value: str = field(repr=False)  # never shown by repr
        secret: bool = False

and behaves as one: fields in declaration order (a subclass's after its bases'), the same
constructor (positional or keyword, defaults, `field(default_factory=...)`), `__slots__`, equality
and hashing by the compared fields, a repr that leaves out `repr=False` fields, immutability
(assigning or deleting a field raises AttributeError, as `FrozenInstanceError` is one), pickling
and copying, `__match_args__`, and `record.replace(field=value)` for `dataclasses.replace`.
`class Work(Record, frozen=False)` is a mutable record: assignable, and unhashable as a mutable
dataclass is; a `__post_init__` method runs at the end of the constructor.

Each class's `__init__` is generated on its first instantiation (one small `exec`), so a class
that is defined but never built costs nothing more than a class statement. Type checkers see
records as dataclasses (`dataclass_transform`), so constructor calls are checked as before.
Modules declaring records use `from __future__ import annotations`: only field *names* are read.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Self, dataclass_transform
else:

    def dataclass_transform(**_options):
        return lambda cls: cls


__all__ = ["Record", "field"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """What `field(...)` returns in a class body; read by the metaclass, then removed."""

    __slots__ = ("compare", "default", "default_factory", "init", "repr")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool, init: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.init = init


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    repr: bool = True,
    compare: bool = True,
    init: bool = True,
) -> Any:
    """Options of one field, as `dataclasses.field` takes them (`repr=False` keeps a value out of repr;
    `init=False`: not a constructor argument, set to its default, left out by `replace`)."""
    return Field(default, default_factory, repr, compare, init)


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and (text.startswith(("ClassVar", "typing.ClassVar")))


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class RecordType(type):
    """Turns a class body's annotated names into slots, fields and their options."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], frozen: bool = True) -> RecordType:
        fields: dict[str, Field] = {}
        for base in reversed(bases):
            fields.update(getattr(base, "__record_fields__", {}))
        own = []
        for field_name, annotation in namespace.get("__annotations__", {}).items():
            if _is_class_var(annotation):
                continue
            value = namespace.pop(field_name, MISSING)
            spec = value if isinstance(value, Field) else Field(value, MISSING, True, True)
            if field_name not in fields:
                own.append(field_name)
            fields[field_name] = spec
        seen_default = False
        for field_name, spec in fields.items():
            if not spec.init:
                if spec.default is MISSING and spec.default_factory is MISSING:
                    raise TypeError(f"field {field_name!r} with init=False needs a default")
                continue
            has_default = spec.default is not MISSING or spec.default_factory is not MISSING
            if seen_default and not has_default:
                raise TypeError(f"non-default argument {field_name!r} follows default argument")
            seen_default = seen_default or has_default
        namespace.setdefault("__slots__", tuple(own))
        namespace["__record_fields__"] = fields
        namespace["__match_args__"] = tuple(fields)
        if "__init__" not in namespace:
            namespace["__init__"] = _first_init
        if not frozen:
            namespace.setdefault("__setattr__", object.__setattr__)
            namespace.setdefault("__delattr__", object.__delattr__)
            namespace.setdefault("__hash__", None)
        cls = super().__new__(mcs, name, bases, namespace)
        compared = [field_name for field_name, spec in fields.items() if spec.compare]
        cls.__record_key__ = _getter(compared)  # type: ignore[attr-defined]
        cls.__record_values__ = _getter(list(fields))  # type: ignore[attr-defined]
        cls.__record_shown__ = tuple(field_name for field_name, spec in fields.items() if spec.repr)  # type: ignore[attr-defined]
        return cls


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda record: (one(record),)
    return lambda record: ()


def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """Generate this class's `__init__`, install it, and run it."""
    cls = type(self)
    while "__init__" not in cls.__dict__ or cls.__dict__["__init__"] is not _first_init:
        cls = cls.__mro__[1]  # a subclass that declares no record fields of its own
    init = _make_init(cls)
    cls.__init__ = init  # type: ignore[misc]
    init(self, *args, **kwargs)


def _make_init(cls: type) -> Callable[..., None]:
    fields: dict[str, Field] = cls.__record_fields__  # type: ignore[attr-defined]
    scope: dict[str, Any] = {"MISSING": MISSING, "set": object.__setattr__}
    parameters, body = [], []
    for index, (field_name, spec) in enumerate(fields.items()):
        value = field_name
        if not spec.init:
            scope[f"default{index}"] = spec.default
            scope[f"factory{index}"] = spec.default_factory
            value = f"default{index}" if spec.default_factory is MISSING else f"factory{index}()"
        elif spec.default_factory is not MISSING:
            scope[f"factory{index}"] = spec.default_factory
            parameters.append(f"{field_name}=MISSING")
            value = f"factory{index}() if {field_name} is MISSING else {field_name}"
        elif spec.default is not MISSING:
            scope[f"default{index}"] = spec.default
            parameters.append(f"{field_name}=default{index}")
        else:
            parameters.append(field_name)
        setter = _slot_setter(cls, field_name)
        if setter is None:
            body.append(f" set(self, {field_name!r}, {value})")
        else:
            scope[f"set{index}"] = setter
            body.append(f" set{index}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append(" self.__post_init__()")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(body) or " pass") + "\n"
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None] | None:
    """The `__set__` of the slot that holds field `name` (what `object.__setattr__` ends up calling,
    without looking the name up on every construction), or None when no class declares the slot."""
    for klass in cls.__mro__:
        attribute = klass.__dict__.get(name)
        if attribute is not None:
            return attribute.__set__ if type(attribute) is _MemberDescriptor else None
    return None


_MemberDescriptor = type(Field.__dict__["default"])  # what `__slots__` makes of each name


class Record(metaclass=RecordType):
    """Base of every record: see the module's docstring."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = self.__record_key__  # type: ignore[attr-defined]
        return bool(key(self) == key(other))

    def __hash__(self) -> int:
        return hash(self.__record_key__(self))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)  # type: ignore[attr-defined]
        return f"{type(self).__qualname__}({shown})"

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """Pickled and copied field by field, without running `__init__` again (as a dataclass is)."""
        return (_restore, (type(self), self.__record_values__(self)))  # type: ignore[attr-defined]

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` applied, as `dataclasses.replace` makes it (init=False fields start afresh)."""
        fields: dict[str, Field] = self.__record_fields__  # type: ignore[attr-defined]
        values = {name: getattr(self, name) for name, spec in fields.items() if spec.init}
        unknown = changes.keys() - values.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__}.replace() got an unexpected field {sorted(unknown)[0]!r}")
        values.update(changes)
        return type(self)(**values)


def _restore(cls: type[Record], values: tuple[Any, ...]) -> Record:
    """A record from its fields' values (pickle, copy)."""
    record = cls.__new__(cls)
    for name, value in zip(cls.__record_fields__, values, strict=True):  # type: ignore[attr-defined]
        object.__setattr__(record, name, value)
    return record
