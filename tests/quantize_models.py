"""Float models for tests/test_quantize.py, made here from nothing: a small Keras CNN trained a few
steps on synthetic images, the same network written as ONNX with onnx.helper, and the images.

The task is a colour classifier (which of red, green or blue dominates a noisy image), so a few
training steps make a model that is right on most images and whose int8 twin must agree with it:
a quantizer that breaks the model shows up as lost agreement and accuracy, not as noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIDE = 16  # input is [1, SIDE, SIDE, 3] NHWC (Keras), [1, 3, SIDE, SIDE] NCHW (ONNX)
CLASSES = ("red", "green", "blue")
SEED = 7


def colour_images(count: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [count, SIDE, SIDE, 3], labels [count]): noise with one channel lifted."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(CLASSES)
    images = rng.integers(0, 150, size=(count, SIDE, SIDE, 3))
    lift = rng.integers(60, 105, size=(count, SIDE, SIDE))
    images[np.arange(count), :, :, labels] += lift
    return np.clip(images, 0, 255).astype(np.uint8), labels


def write_image_folder(folder: Path, per_class: int, seed: int = SEED) -> Path:
    """A labeled folder as bench --data reads it: folder/<class>/NNNN.png."""
    from PIL import Image

    images, labels = colour_images(per_class * len(CLASSES), seed)
    folder.mkdir(parents=True, exist_ok=True)
    # The model's output order, which is not the folders' sorted order.
    (folder / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    for i, (image, label) in enumerate(zip(images, labels)):
        out = folder / CLASSES[label]
        out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(out / f"{i:04d}.png")
    return folder


def train_keras_cnn():
    """A Keras 3 CNN trained on 0..1 pixels, seeded: conv, pool, conv, global pool, dense, softmax."""
    import keras

    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input((SIDE, SIDE, 3)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(CLASSES)),
        keras.layers.Softmax(),
    ])
    images, labels = colour_images(300, seed=SEED + 1)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(images.astype(np.float32) / 255.0, labels, epochs=4, batch_size=32, verbose=0)
    return model


def onnx_from_keras(model, path: Path) -> Path:
    """The Keras CNN written as an ONNX graph in NCHW (as PyTorch exports it), with its weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    conv1, conv2, dense = (layer for layer in model.layers if layer.get_weights())
    k1, b1 = conv1.get_weights()
    k2, b2 = conv2.get_weights()
    w, b = dense.get_weights()
    inits = [numpy_helper.from_array(np.ascontiguousarray(a.astype(np.float32)), name) for a, name in (
        (k1.transpose(3, 2, 0, 1), "conv1.weight"), (b1, "conv1.bias"),  # HWIO -> OIHW
        (k2.transpose(3, 2, 0, 1), "conv2.weight"), (b2, "conv2.bias"),
        (w.T, "fc.weight"), (b, "fc.bias"))]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(nodes, "colour_cnn",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, len(CLASSES)])],
                              inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="mcugen-tests")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def zero_first_conv_weights(src: Path, dst: Path) -> Path:
    """A copy of an int8 .tflite whose first CONV_2D filter is all zeros (its bias kept): the
    convolution then outputs a constant, so the model no longer sees its input."""
    import tflite

    blob = bytearray(Path(src).read_bytes())
    model = tflite.Model.GetRootAsModel(blob, 0)
    graph = model.Subgraphs(0)
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == tflite.BuiltinOperator.CONV_2D:
            weights = model.Buffers(graph.Tensors(op.Inputs(1)).Buffer()).DataAsNumpy().tobytes()
            at = bytes(blob).find(weights)
            assert at > 0 and bytes(blob).count(weights) == 1, "the filter's bytes are not unique in the file"
            blob[at:at + len(weights)] = bytes(len(weights))
            Path(dst).write_bytes(bytes(blob))
            return Path(dst)
    raise AssertionError(f"{src} has no CONV_2D")
