"""mcugen's bare Cortex-M dev-platform: nothing to configure beyond platform.json.

PlatformIO finds this class by the platform's name ('mcugen-cortexm' ->
'McugencortexmPlatform'). The build itself is builder/main.py.
"""

from platformio.public import PlatformBase


class McugencortexmPlatform(PlatformBase):
    pass
