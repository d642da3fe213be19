"""mcugen's offline stand-in for PlatformIO's ststm32 dev-platform.

PlatformIO finds the class by the platform's name ('ststm32' -> 'Ststm32Platform').
platform.json names one package (the toolchain) and no frameworks; the build and
the upload are builder/main.py.
"""

from platformio.public import PlatformBase


class Ststm32Platform(PlatformBase):
    def is_embedded(self):
        # PlatformIO's ststm32 is embedded because it lists uploader packages; the stand-in
        # lists none (it uploads only through upload_command), but it is a firmware platform
        # all the same (debugging, `pio test` and link grouping go by this).
        return True
