"""SCons build script of mcugen's bare Cortex-M dev-platform.

PlatformIO runs it for `pio run`. It only names the arm-none-eabi tools and the
link steps every bare-metal image needs; the project's platformio.ini carries
the choices (machine flags from the board, optimisation, defines, the linker
script as board_build.ldscript), so one project file shows every flag.

Products in .pio/build/<env>/: firmware.elf, firmware.bin (raw image from the
first loadable address) and firmware.map (the linker's map).
"""

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment  # pylint: disable=import-error

env = DefaultEnvironment()

# PlatformIO's default name is "program"; "firmware" is what every embedded
# dev-platform (and mcugen's build and emulate steps) expect.
if env.get("PROGNAME", "program") == "program":
    env.Replace(PROGNAME="firmware")

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
    # `pio run` prints Flash/RAM use from `size -A` (sections, not the board's regions:
    # mcugen's own report reads the ELF against the board file).
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    SIZEPROGREGEXP=r"^(?:\.vectors|\.text|\.rodata|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.heap|\.stack)\s+(\d+).*",
)


def _driver_link_flags(flags):
    """The build flags the gcc driver also needs when it links.

    The machine flags choose gcc's multilib (libc, libm, libgcc built for this core and
    float ABI), so the link must see exactly the flags the compile saw; --specs picks
    newlib-nano; -nostartfiles drops crt0 (the project brings its own reset handler).
    SCons files all of them under CCFLAGS, and PlatformIO parses platformio.ini's
    build_flags only after this script runs: hence the lazy ${...} below.
    """
    prefixes = ("-mcpu=", "-mfpu=", "-mfloat-abi=", "-mthumb", "-marm", "--specs=", "-specs=", "-nostartfiles")
    return [f for f in flags if isinstance(f, str) and f.startswith(prefixes)]


env.Replace(_mcugen_driver_link_flags=_driver_link_flags)
env.Append(
    LINKFLAGS=[
        "${_mcugen_driver_link_flags(CCFLAGS)}",
        "-Wl,-Map=${BUILD_DIR}/${PROGNAME}.map",
        "-Wl,--print-memory-usage",
    ],
    LIBS=["c", "m", "gcc"],
)

target_elf = env.BuildProgram()
target_bin = env.Command(
    "$BUILD_DIR/${PROGNAME}.bin",
    target_elf,
    env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"),
)
AlwaysBuild(env.Alias("nobuild", target_bin))
env.Alias("buildprog", [target_elf, target_bin])
Default([target_elf, target_bin])
