"""The simulator's schema is a strict subset of the real Sonar schema: type for type, field for field, arg for arg."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    is_leaf_type,
)

from etl.sandbox.sonar_schema import SCHEMA_PATH, load_schema, prune_sdl
from etl.sandbox.sonar_store import LINKS, TYPE_TABLE

REAL_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "api" / "sonar.graphql"


@pytest.fixture(scope="module")
def real_sdl() -> str:
    assert REAL_SCHEMA.is_file(), f"the real Sonar schema must be at {REAL_SCHEMA} (shared/ beside the repo)"
    return REAL_SCHEMA.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real_schema(real_sdl: str) -> GraphQLSchema:
    return build_schema(real_sdl)


def _own_types(schema: GraphQLSchema) -> dict[str, object]:
    return {name: t for name, t in schema.type_map.items() if not name.startswith("__")}


def test_every_simulator_type_exists_in_the_real_schema_with_the_same_kind(real_schema: GraphQLSchema) -> None:
    for name, sim_type in _own_types(load_schema()).items():
        assert name in real_schema.type_map, f"{name} is not a Sonar type"
        assert type(real_schema.type_map[name]) is type(sim_type), name


def test_every_field_and_argument_matches_the_real_schema(real_schema: GraphQLSchema) -> None:
    checked = 0
    for name, sim_type in _own_types(load_schema()).items():
        if not isinstance(sim_type, GraphQLObjectType):
            continue
        real_type = real_schema.type_map[name]
        assert isinstance(real_type, GraphQLObjectType | GraphQLInterfaceType)
        for field_name, field in sim_type.fields.items():
            real_field = real_type.fields.get(field_name)
            assert real_field is not None, f"{name}.{field_name} is not a Sonar field"
            assert str(field.type) == str(real_field.type), f"{name}.{field_name}"
            for arg_name, arg in field.args.items():
                real_arg = real_field.args.get(arg_name)
                assert real_arg is not None, f"{name}.{field_name}({arg_name}) is not a Sonar argument"
                assert str(arg.type) == str(real_arg.type), f"{name}.{field_name}({arg_name})"
                assert arg.default_value == real_arg.default_value, f"{name}.{field_name}({arg_name}) default"
                checked += 1
    assert checked > 1000  # the root fields alone carry hundreds of column arguments


def test_input_types_enums_and_scalars_match_the_real_schema(real_schema: GraphQLSchema) -> None:
    for name, sim_type in _own_types(load_schema()).items():
        real_type = real_schema.type_map[name]
        if isinstance(sim_type, GraphQLInputObjectType):
            assert isinstance(real_type, GraphQLInputObjectType)
            for field_name, field in sim_type.fields.items():
                assert field_name in real_type.fields, f"{name}.{field_name} is not a Sonar input field"
                assert str(field.type) == str(real_type.fields[field_name].type), f"{name}.{field_name}"
                assert field.default_value == real_type.fields[field_name].default_value, f"{name}.{field_name}"
        elif isinstance(sim_type, GraphQLEnumType):
            assert isinstance(real_type, GraphQLEnumType)
            assert list(sim_type.values) == list(real_type.values), name
        else:
            assert isinstance(sim_type, GraphQLObjectType | GraphQLScalarType), name


def test_the_committed_schema_is_exactly_what_the_pruner_generates(real_sdl: str) -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == prune_sdl(real_sdl), (
        "regenerate: python -m etl.sandbox.sonar_schema ../shared/api/sonar.graphql"
    )


def test_every_relation_field_of_the_simulator_schema_is_backed_by_the_store() -> None:
    schema = load_schema()
    for type_name in TYPE_TABLE:
        sim_type = schema.type_map[type_name]
        assert isinstance(sim_type, GraphQLObjectType)
        relations = {n for n, f in sim_type.fields.items() if not is_leaf_type(get_named_type(f.type))}
        assert relations == {field for (owner, field) in LINKS if owner == type_name}, type_name
    query = schema.query_type
    assert query is not None
    assert set(query.fields) == set(TYPE_TABLE.values())
