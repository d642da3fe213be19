"""mcugen: compile TensorFlow Lite int8 models ahead of time for microcontrollers and prove them on the board."""

__version__ = "0.1.0"
