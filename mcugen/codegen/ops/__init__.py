"""Op lowerings, one module per op family; importing this package registers them all."""

from . import activations  # noqa: F401  SOFTMAX, LOGISTIC, HARD_SWISH
from . import conv  # noqa: F401  CONV_2D, DEPTHWISE_CONV_2D
from . import elementwise  # noqa: F401  ADD, MUL
from . import fully_connected  # noqa: F401  FULLY_CONNECTED
from . import layout  # noqa: F401  PAD, CONCATENATION, STRIDED_SLICE, TRANSPOSE, RESIZE_NEAREST_NEIGHBOR
from . import pooling  # noqa: F401  AVERAGE_POOL_2D, MAX_POOL_2D, MEAN
from . import quantize  # noqa: F401  QUANTIZE, DEQUANTIZE
from . import reshape  # noqa: F401  RESHAPE, SQUEEZE, EXPAND_DIMS
from . import detection_postprocess  # noqa: F401  CUSTOM:TFLite_Detection_PostProcess
