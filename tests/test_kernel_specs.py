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


def test_scratch_rules_mirror_the_kernels(tmp_path) -> None:
    """The planner's scratch sizes (Python) equal the kernels' own rules (C), on random shapes."""
    import random
    import shutil
    import subprocess

    from mcugen.codegen.ops.conv import _conv_scratch
    from mcugen.codegen.ops.depthwise_dsp_scratch import depthwise_dsp_needs_general, depthwise_dsp_scratch_bytes
    from mcugen.ir import Tensor

    rng = random.Random(7)
    cases = []
    for _ in range(300):
        fh, fw, sh, sw = rng.randint(1, 7), rng.randint(1, 7), rng.randint(1, 3), rng.randint(1, 3)
        if rng.random() < 0.5:
            fh = fw = 3
        oh, ow, c, ic = rng.randint(1, 60), rng.randint(1, 60), rng.randint(1, 70), rng.randint(1, 40)
        cases.append((fh, fw, sh, sw, oh, ow, c, ic))
    rows = ",\n".join("{%s}" % ", ".join(map(str, c)) for c in cases)
    program = tmp_path / "scratch.c"
    program.write_text(f"""
#include <stdio.h>
#include "conv_dsp.h"
#include "depthwise_conv_dsp.h"
static const int cases[][8] = {{{rows}}};
int main(void) {{
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; ++i) {{
        const int *k = cases[i];
        mcugen_depthwise_conv_dsp_params_t d = {{0}};
        d.input.n = d.output.n = 1;
        d.output.h = k[4]; d.output.w = k[5]; d.output.c = d.input.c = k[6];
        d.filter_h = k[0]; d.filter_w = k[1]; d.stride_h = k[2]; d.stride_w = k[3];
        mcugen_conv_dsp_params_t c = {{0}};
        c.input.c = k[7]; c.output.c = k[6];
        c.depth4 = (k[0] * k[1] * k[7] + 3) / 4 * 4;
        printf("%d %d %d\\n", (int)mcugen_depthwise_conv_dsp_scratch_bytes(&d), (int)mcugen_conv_dsp_scratch_bytes(&c),
               (int)mcugen_depthwise_conv_dsp_needs_general(&d));
    }}
    return 0;
}}
""")
    exe = tmp_path / "scratch"
    subprocess.run([shutil.which("cc") or "cc", "-std=c99", "-I", str(runtime_dir()), str(program), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    for (fh, fw, sh, sw, oh, ow, c, ic), line in zip(cases, lines):
        want_dw, want_conv, want_general = map(int, line.split())
        assert depthwise_dsp_scratch_bytes((1, 0, 0, c), (1, oh, ow, c), fh, fw, sh, sw) == want_dw
        assert depthwise_dsp_needs_general((1, oh, ow, c), fh, fw, sh, sw) == bool(want_general)
        out = Tensor(0, "out", (1, oh, ow, c), "int8")
        assert _conv_scratch(Tensor(1, "in", (1, 1, 1, ic), "int8"), out, fh * fw * ic) == want_conv


@pytest.mark.parametrize("name", ["examples/shapes/shapes_int8.tflite", "person_detect", "kws_ref_model",
                                  "pretrainedResnet_quant"])
def test_arm_dsp_builds_take_the_dsp_kernels(name: str) -> None:
    """Bit-exactness alone would not notice a chooser that sent everything to the
    portable kernels: every convolution of these models must run an arm-dsp kernel."""
    from pathlib import Path

    from conftest import REPO, shared_model
    from mcugen.generate import compile_model
    from mcugen.target import HOST

    path = REPO / name if name.endswith(".tflite") else shared_model(f"{name}.tflite")
    layers = compile_model(Path(path), HOST, "arm-dsp").module.layers
    convs = [layer for layer in layers if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert convs and all(layer.spec.variant == "arm-dsp" for layer in convs), \
        [(layer.index, layer.kernel) for layer in convs]
    portable = compile_model(Path(path), HOST, "portable").module.layers
    assert all(layer.spec is None or layer.spec.variant == "portable" for layer in portable)
