"""Kernel specs (mcugen/codegen/kernels.py) against the C they describe: every
spec's parameter struct in its header has exactly the spec's fields, in order; a
lowering that forgets or misspells a field is refused before any C is written."""

from __future__ import annotations

import re

import pytest

from mcugen.codegen.emit import runtime_dir
from mcugen.codegen.kernels import KERNELS
from mcugen.codegen.lowering import KernelFieldError, LayerCall


def _struct_fields(header_text: str, type_name: str) -> list[str] | None:
    """Top-level member names of `typedef struct { ... } type_name;` (or the struct a
    `typedef other type_name;` names), comments and nested braces skipped."""
    text = re.sub(r"/\*.*?\*/", "", header_text, flags=re.S)
    alias = re.search(rf"typedef\s+(\w+)\s+{type_name}\s*;", text)
    if alias:
        return _struct_fields(header_text, alias.group(1))
    for match in re.finditer(r"typedef struct\s*\{", text):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        name = re.match(r"\s*(\w+)\s*;", text[i:])
        if not name or name.group(1) != type_name:
            continue
        body = re.sub(r"\{[^{}]*\}", "", text[match.end():i - 1])
        fields = []
        for decl in body.split(";"):
            decl = decl.strip()
            if decl:
                for part in decl.split(","):
                    fields.append(re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", part.strip())[0])
        return fields
    return None


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_spec_matches_its_header(name: str) -> None:
    spec = KERNELS[name]
    header = runtime_dir() / spec.header
    text = header.read_text()
    assert re.search(rf"\b{spec.name}\s*\(\s*const\s+{spec.params_type}\s*\*", text), \
        f"{spec.header} declares no {spec.name}(const {spec.params_type} *, ...)"
    assert _struct_fields(text, spec.params_type) == list(spec.fields)
    assert (runtime_dir() / spec.header.replace(".h", ".c")).is_file()
    for needed in spec.needs:
        assert (runtime_dir() / needed).is_file()


def test_a_forgotten_field_is_refused() -> None:
    with pytest.raises(KernelFieldError, match="missing field.*per_channel"):
        LayerCall(3, "CONV_2D", "", "mcugen_conv_s8", "mcugen_conv_params_t",
                  [(f, "0") for f in KERNELS["mcugen_conv_s8"].fields if f != "per_channel"], [], "conv.h")


def test_a_misspelt_field_is_refused() -> None:
    fields = [(f, "0") for f in KERNELS["mcugen_relu6_s8"].fields] + [("atc", "0")]
    with pytest.raises(KernelFieldError, match="unknown field.*atc"):
        LayerCall(1, "RELU6", "", "mcugen_relu6_s8", None, fields, [])


def test_fields_are_emitted_in_declaration_order() -> None:
    spec = KERNELS["mcugen_relu6_s8"]
    call = LayerCall(1, "RELU6", "", spec.name, None, [(f, "0") for f in reversed(spec.fields)], [])
    assert [f for f, _ in call.params] == list(spec.fields)
