"""SCons build script of mcugen's offline stand-in for PlatformIO's ststm32.

PlatformIO runs it for `pio run` in mcugen's private PlatformIO home. It covers
what a bare-metal project (no `framework`) asks of PlatformIO's ststm32, and no
more: the arm-none-eabi tools, -mthumb and the board's -mcpu, the project's
build_flags and board_build.ldscript, and the products

    .pio/build/<env>/firmware.elf, firmware.bin (objcopy -O binary), firmware.map

One addition: the machine flags among build_flags (-mcpu, -mfpu, -mfloat-abi,
-mthumb, --specs, -nostartfiles) are passed to the link too, so gcc links the
libc/libm/libgcc multilib the objects were compiled for.

Upload (`pio run -t upload`): `upload_protocol = custom` runs the project's
upload_command with $SOURCE = firmware.bin, as PlatformIO's ststm32 does;
`stlink` runs the system's `st-flash` (Debian/Ubuntu: stlink-tools) on the bin at
the board's flash origin (board_upload.offset_address, default 0x08000000). Any
other protocol is refused with one line saying what to do.
"""

import sys

from SCons.Subst import Literal  # pylint: disable=import-error
from SCons.Script import (COMMAND_LINE_TARGETS, AlwaysBuild, Builder, Default,  # pylint: disable=import-error
                          DefaultEnvironment)

env = DefaultEnvironment()
board = env.BoardConfig() if "BOARD" in env else None

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-as",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="arm-none-eabi-gdb",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    PROGSUFFIX=".elf",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.vectors|\.text|\.rodata|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit|\.heap|\.stack)\s+(\d+).*",
)

# PlatformIO's default name is "program"; "firmware" is what ststm32 (and mcugen) use.
if env.get("PROGNAME", "program") == "program":
    env.Replace(PROGNAME="firmware")

if env.get("PIOFRAMEWORK"):
    sys.stderr.write(
        "Error: mcugen's offline ststm32 stand-in has no frameworks (framework = %s); remove `framework` "
        "for a bare-metal build, or build with PlatformIO's own ststm32 (network needed once)\n"
        % ", ".join(env["PIOFRAMEWORK"]))
    env.Exit(1)

env.Append(
    BUILDERS=dict(
        ElfToBin=Builder(
            action=env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"),
            suffix=".bin",
        )
    )
)

# What ststm32 does for a build without a framework, minus its -Os (the project's
# build_flags say how to optimise).
env.Append(
    ASFLAGS=["-mthumb"],
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=["-mthumb"],
    CPPDEFINES=[("F_CPU", "$BOARD_F_CPU")],
    LINKFLAGS=["-mthumb", "-Wl,--gc-sections"],
    LIBS=["c", "m", "gcc"],
)
if board is not None and board.get("build.cpu", ""):
    cpu = "-mcpu=%s" % board.get("build.cpu")
    env.Append(ASFLAGS=[cpu], CCFLAGS=[cpu], LINKFLAGS=[cpu])


def _driver_link_flags(flags):
    """The compile flags gcc also needs when it links: the machine flags choose the
    multilib, --specs picks newlib-nano, -nostartfiles drops crt0. PlatformIO files
    build_flags under CCFLAGS after this script runs, hence the lazy ${...} below."""
    prefixes = ("-mcpu=", "-mfpu=", "-mfloat-abi=", "-mthumb", "-marm", "--specs=", "-specs=", "-nostartfiles")
    return [f for f in flags if isinstance(f, str) and f.startswith(prefixes)]


def _map_flag(env):
    """-Wl,-Map=<build dir>/firmware.map as one argument, even when the path has spaces."""
    return [Literal("-Wl,-Map=" + env.subst("$BUILD_DIR/${PROGNAME}.map"))]


env.Replace(_mcugen_driver_link_flags=_driver_link_flags, _mcugen_map_flag=_map_flag)
env.Append(LINKFLAGS=["${_mcugen_driver_link_flags(CCFLAGS)}", "${_mcugen_map_flag(__env__)}"])

#
# Build
#

if "nobuild" in COMMAND_LINE_TARGETS:
    target_elf = "$BUILD_DIR/${PROGNAME}.elf"
    target_firm = "$BUILD_DIR/${PROGNAME}.bin"
else:
    target_elf = env.BuildProgram()
    target_firm = env.ElfToBin("$BUILD_DIR/${PROGNAME}", target_elf)
    env.Depends(target_firm, "checkprogsize")

AlwaysBuild(env.Alias("nobuild", target_firm))
target_buildprog = env.Alias("buildprog", target_firm, target_firm)

target_size = env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
AlwaysBuild(target_size)

#
# Upload
#

upload_protocol = env.subst("$UPLOAD_PROTOCOL")


def _refuse_upload(target, source, env):  # pylint: disable=unused-argument
    sys.stderr.write(
        "Error: mcugen's offline ststm32 stand-in uploads only with upload_protocol = custom "
        "(this project says '%s'): set upload_protocol = custom and an upload_command that flashes $SOURCE "
        "(e.g. st-flash write $SOURCE 0x08000000), or run `pio run -t upload` with PlatformIO's own ststm32 "
        "(network needed once)\n" % (upload_protocol or "none"))
    return 1


if upload_protocol == "stlink":
    # PlatformIO's ststm32 drives the ST-LINK through its tool-openocd package, which only its
    # registry has; offline, the system's st-flash does the same job.
    env.Replace(UPLOADER="st-flash",
                UPLOADCMD='$UPLOADER --reset write "$SOURCE" %s'
                % (board.get("upload.offset_address", "0x08000000") if board else "0x08000000"))
    upload_protocol = "custom"

if upload_protocol == "custom":
    if not env.subst("$UPLOADCMD").strip():
        upload_actions = [env.VerboseAction(
            lambda target, source, env: sys.stderr.write(
                "Error: upload_protocol = custom needs an upload_command in platformio.ini\n") or 1,
            "Uploading $SOURCE")]
    else:
        upload_actions = [env.VerboseAction("$UPLOADCMD", "Uploading $SOURCE")]
else:
    upload_actions = [env.VerboseAction(_refuse_upload, "Uploading $SOURCE")]

AlwaysBuild(env.Alias("upload", target_firm, upload_actions))

Default([target_buildprog, target_size])
