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


def _machine_flags(flags):
    """The compile flags that choose the instruction set, the float ABI and the C library.

    gcc picks its multilib (libc, libm, libgcc built for this core and ABI) from them at
    link time too, so the link must see exactly the flags the compile saw. They live in
    platformio.ini's build_flags, which PlatformIO parses into CCFLAGS after this script
    runs, hence the lazy ${...} below rather than a copy now.
    """
    prefixes = ("-mcpu=", "-mfpu=", "-mfloat-abi=", "-mthumb", "-marm", "--specs=", "-specs=")
    return [f for f in flags if isinstance(f, str) and f.startswith(prefixes)]


env.Replace(_mcugen_machine_flags=_machine_flags)
env.Append(
    LINKFLAGS=[
        "${_mcugen_machine_flags(CCFLAGS)}",
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
