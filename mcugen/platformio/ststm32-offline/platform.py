"""mcugen's offline stand-in for PlatformIO's ststm32 dev-platform.

PlatformIO finds the class by the platform's name ('ststm32' -> 'Ststm32Platform').
Nothing to configure beyond platform.json: one package (the toolchain), no
frameworks. The build and the upload are builder/main.py.
"""

from platformio.public import PlatformBase


class Ststm32Platform(PlatformBase):
    pass
