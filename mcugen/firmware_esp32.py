"""The ESP32 side of firmware.py: an ESP-IDF project built by PlatformIO's espressif32 platform.

    platformio.ini          platform = espressif32, framework = espidf, the board, esptool, monitor speed
    CMakeLists.txt          the ESP-IDF project
    sdkconfig.defaults      CPU clock, console, PSRAM, optimisation, the large app partition
    src/CMakeLists.txt      the app component: agent, application, mcugen's ESP32 board layer
    src/idf_component.yml   espressif/esp32-camera from the ESP Component Registry
    src/mcugen_board_*      the board API over ESP-IDF (templates/ports/esp32/)
    lib/mcugen_model/       the model, a PlatformIO library (its library finder builds it with
                            the app's flags because src/ includes mcugen_model.h)

No Xtensa compiler is installable here: `mcugen build` hands such a project to the user's
own PlatformIO (which fetches the platform, ESP-IDF and the toolchain), and the board layer
is checked on the host against stubs of the ESP-IDF API (tests/test_esp32_host.py).
"""

from __future__ import annotations

import re
from typing import Any

from . import __version__
from .boards import Board
from .resources import templates_dir

PORT = "esp32"
ESP32_CAMERA_VERSION = "^2.0.15"   # espressif/esp32-camera, the 2.x API the board layer is written to
IDF_MIN_VERSION = "5.1"
MAIN_TASK_STACK = 8192             # bytes; the model's arena is static, not on this stack
BUILD_FLAGS = ("-DMCUGEN_PROFILE",)
# Project file templates (under templates/ports/esp32/project/) -> where they go.
PROJECT_TEMPLATES = {
    "platformio.ini.j2": "platformio.ini",
    "CMakeLists.txt.j2": "CMakeLists.txt",
    "sdkconfig.defaults.j2": "sdkconfig.defaults",
    "src/CMakeLists.txt.j2": "src/CMakeLists.txt",
    "src/idf_component.yml.j2": "src/idf_component.yml",
}
BOARD_LAYER = ("mcugen_board_esp32.c",)


def project_values(board: Board, model_name: str, sources: list[str], camera: bool) -> dict[str, Any]:
    """What the project templates need, from the board file."""
    pio = dict(board.platformio)
    flash = board.region(board.flash_region)
    psram = next((r for r in board.regions if r.name == "PSRAM"), None)
    stem = re.sub(r"[^A-Za-z0-9_]", "_", model_name.rsplit(".", 1)[0]) or "model"
    return dict(
        version=__version__, board_id=board.id, board_name=board.name, env_name=board.id,
        platform=pio.pop("platform"), pio_board=pio.pop("board"),
        upload_protocol=board.upload.protocol if board.upload else "esptool", baud=board.serial["baud"],
        pio_extra=[(k, v) for k, v in sorted(pio.items()) if "." in k],
        build_flags=list(BUILD_FLAGS), project_name=f"mcugen_{stem}", sources=sorted(sources),
        idf_min_version=IDF_MIN_VERSION, camera=camera, esp32_camera_version=ESP32_CAMERA_VERSION,
        cpu_mhz=board.clock_hz // 1_000_000, flash_size=f"{flash.size >> 20}MB", main_task_stack=MAIN_TASK_STACK,
        console=board.serial.get("console", "uart"),
        psram=("oct" if board.core == "xtensa-lx7" else "quad") if psram else None,
        psram_size_mb=(psram.size >> 20) if psram else 0,
    )


def esp32_project_files(board: Board, values: dict[str, Any], model_name: str, existing: list[str]
                        ) -> dict[str, str]:
    """The ESP-IDF project files and the board layer; `existing` are the project paths
    already written (the agent and app in src/, the model in lib/)."""
    from .firmware import _environment

    port = templates_dir() / "ports" / PORT
    env = _environment([port])
    camera = values["camera"]
    files = {
        "src/mcugen_board_config.h": env.get_template("mcugen_board_config.h.j2").render(
            **values, camera_fb_in_psram=bool(board.camera and board.camera.facts.get("frame_buffer") == "PSRAM")),
    }
    for name in BOARD_LAYER:
        files[f"src/{name}"] = (port / name).read_text()
    sources = [p[len("src/"):] for p in [*existing, *files] if p.startswith("src/") and p.endswith(".c")]
    project = project_values(board, model_name, sources, camera is not None and not camera.host_fed)
    for template, out in PROJECT_TEMPLATES.items():
        files[out] = env.get_template(f"project/{template}").render(**project)
    return files
