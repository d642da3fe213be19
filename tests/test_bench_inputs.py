"""`bench --data` understands the model's input and output (issue 11, item 1): pixels
mapped to the range the input's dtype, scale and zero point represent, and a label
list or a model that cannot give a top-1 accuracy refused with the fix."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import EXAMPLE_MODEL, SHARED_VECTORS, person_image_folder, shared_model
from mcugen.bench_inputs import class_count, image_inputs
from mcugen.errors import McugenError
from mcugen.ir import Quantization, Tensor
from mcugen.loader import load_model


def refused(pattern, call, *args):
    """The refusal's one line (message and fix) matches pattern."""
    with pytest.raises(McugenError) as caught:
        call(*args)
    assert re.search(pattern, caught.value.one_line()), caught.value.one_line()


@pytest.fixture
def person_folder(tmp_path):
    return person_image_folder(tmp_path)


@pytest.mark.parametrize("model", ["wv_quality_k_8_c_5", "person_detect"])
def test_pixels_map_to_what_the_input_represents(person_folder, model):
    """Wake Vision takes uint8 pixels at scale 1 (0..255), person_detect int8 at 1/127.5
    (-1..1): with no option given both classify both images right under tflite-micro."""
    from mcugen.reference import TflmInterpreter

    path = shared_model(f"{model}.tflite")
    graph = load_model(path)
    reference = TflmInterpreter(path)
    inputs = image_inputs(person_folder, graph.input_tensors(), graph.output_tensors())
    predicted = [int(np.argmax(reference.run(s.arrays, 1)[0])) for s in inputs.sets]
    assert predicted == [s.label for s in inputs.sets] == [0, 1]
    assert "represents" in inputs.notes[0]  # says which mapping it used
    if model == "wv_quality_k_8_c_5":
        # The old default (0-1) calls both "no person": the mapping is what makes the difference.
        fixed = image_inputs(person_folder, graph.input_tensors(), graph.output_tensors(), "0-1")
        assert [int(np.argmax(reference.run(s.arrays, 1)[0])) for s in fixed.sets] == [0, 0]
        assert "--pixel-range 0-1" in fixed.notes[0]


def _scores(shape):
    return Tensor(1, "scores", shape, "int8", Quantization((1 / 256,), (-128,)))


def _image(shape=(1, 8, 8, 3)):
    return Tensor(0, "image", shape, "int8", Quantization((1 / 255,), (-128,)))


def test_a_detector_grid_is_not_a_class_vector():
    fomo = load_model(shared_model("fomo_face_detection.tflite"))
    refused(r"output \(\[1, 12, 12, 2\]\) is not one vector of class scores.*--vectors FILE.npy or --random N",
            class_count, fomo.output_tensors())
    assert class_count([_scores((1, 4))]) == 4 and class_count([_scores((7,))]) == 7
    with pytest.raises(McugenError):
        class_count([_scores((1, 4)), _scores((1, 4))])


def _folder(tmp_path, classes, labels=None):
    from PIL import Image

    for name in classes:
        (tmp_path / name).mkdir()
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name / "a.png")
    if labels is not None:
        (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    return tmp_path


def test_a_label_list_of_the_wrong_length(tmp_path):
    folder = _folder(tmp_path, ["cat", "dog"], ["cat", "dog", "bird"])
    refused(r"labels.txt names 3 classes but the model has 2 outputs \(list the 2", image_inputs, folder,
            [_image()], [_scores((1, 2))])


def test_class_folders_that_cannot_be_the_output_order(tmp_path):
    folder = _folder(tmp_path, ["cat", "dog"])
    refused(r"has 2 class folders but the model has 3 outputs \(add a labels.txt", image_inputs, folder,
            [_image()], [_scores((1, 3))])
    # with a labels.txt, a subset of the classes is fine
    (folder / "labels.txt").write_text("bird\ncat\ndog\n")
    inputs = image_inputs(folder, [_image()], [_scores((1, 3))])
    assert [s.label for s in inputs.sets] == [1, 2]


def test_data_on_a_multi_input_model(tmp_path):
    folder = _folder(tmp_path, ["a", "b"])
    refused(r"the model has 2 inputs \(bench it with --vectors", image_inputs, folder, [_image(), _image()],
            [_scores((1, 2))])


def test_the_example_keeps_its_mapping():
    # shapes_int8 takes int8 at 1/255: auto is 0..1, what the example was trained on.
    graph = load_model(EXAMPLE_MODEL)
    images = EXAMPLE_MODEL.parent / "images"
    auto = image_inputs(images, graph.input_tensors(), graph.output_tensors())
    unit = image_inputs(images, graph.input_tensors(), graph.output_tensors(), "0-1")
    assert [s.arrays[0].tobytes() for s in auto.sets] == [s.arrays[0].tobytes() for s in unit.sets]


# ---- pre-processing options (issue 11, item 1): each one's effect, its record, its refusals ----


@pytest.fixture
def colour_folder(tmp_path_factory):
    """Two classes of non-square colour images (40 x 24), different in every channel."""
    from PIL import Image

    rng = np.random.default_rng(21)
    folder = tmp_path_factory.mktemp("colour")  # apart from person_folder's, when a test takes both
    for name in ("a", "b"):
        (folder / name).mkdir()
        Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(folder / name / "x.png")
    return folder


def _arrays(inputs):
    return np.stack([s.arrays[0] for s in inputs.sets])


def test_each_option_changes_the_tensors_as_it_says(colour_folder):
    from mcugen.preprocess import PreprocessOptions

    image, scores = _image((1, 8, 8, 3)), _scores((1, 2))
    plain = image_inputs(colour_folder, [image], [scores])
    bgr = image_inputs(colour_folder, [image], [scores], options=PreprocessOptions(channel_order="bgr"))
    assert np.array_equal(_arrays(bgr), _arrays(plain)[..., ::-1])
    assert "channels B, G, R" in bgr.notes[0] and "channels R, G, B" in plain.notes[0]
    stretch = image_inputs(colour_folder, [image], [scores], options=PreprocessOptions(resize="stretch"))
    assert not np.array_equal(_arrays(stretch), _arrays(plain))  # 40 x 24: crop drops 16 columns, stretch none
    assert "box-resized whole to 8 x 8" in stretch.notes[0] and "centre-cropped" in plain.notes[0]
    gray = image_inputs(colour_folder, [image], [scores], options=PreprocessOptions(grayscale=True))
    assert np.array_equal(_arrays(gray)[..., 0], _arrays(gray)[..., 2]) and "luma 0.299 R" in gray.notes[0]
    # image is int8 at 1/255, zero point -128 (reals 0..1): mean 0.5 and std 0.5 map p to 2p/255 - 1,
    # which clamps below 0: every code is max(-128, round(255 * (2p/255 - 1)) - 128).
    norm = image_inputs(colour_folder, [image], [scores], options=PreprocessOptions((0.5,), (0.5,)))
    pixels = _arrays(plain).astype(int) + 128  # plain: the code is p - 128
    expected = np.clip(np.sign(2 * pixels - 255) * np.floor(np.abs(2 * pixels - 255) + 0.5) - 128, -128, 127)
    assert np.array_equal(_arrays(norm).astype(int), expected)
    assert "x = (pixel - mean) / std with mean 0.5,0.5,0.5 and std 0.5,0.5,0.5" in norm.notes[0]
    record = norm.preprocessing.to_json()
    assert record["mean"] == [0.5] * 3 and record["std"] == [0.5] * 3 and record["resize"] == "crop"


def test_the_default_is_what_it_was(person_folder):
    """No option given is the same tensors as every option at its default (the shared
    person images classify right under both models: test_pixels_map_to_what_the_input_represents)."""
    from mcugen.preprocess import PreprocessOptions

    for model in ("person_detect", "wv_quality_k_8_c_5"):
        graph = load_model(shared_model(f"{model}.tflite"))
        plain = image_inputs(person_folder, graph.input_tensors(), graph.output_tensors())
        explicit = image_inputs(person_folder, graph.input_tensors(), graph.output_tensors(), "auto",
                                PreprocessOptions.parse(channel_order="rgb", resize="crop"))
        assert _arrays(plain).tobytes() == _arrays(explicit).tobytes()
    # person_detect's images are the shared vectors themselves (96 x 96 gray, pixel p is code p - 128).
    graph = load_model(shared_model("person_detect.tflite"))
    inputs = image_inputs(person_folder, graph.input_tensors(), graph.output_tensors())
    assert inputs.sets[1].source == "person/person.png"
    vector = np.load(SHARED_VECTORS / "person_96x96_i8.npy")
    assert np.array_equal(inputs.sets[1].arrays[0].reshape(-1), vector.reshape(-1))


def _bench(*args):
    from conftest import run_cli

    return run_cli("bench", "--port", "socket://127.0.0.1:9", *args, timeout=60)


def test_bench_refuses_options_that_do_not_fit(person_folder, colour_folder):
    """One line, exit 2, before any board is contacted (the port has nothing behind it)."""
    from conftest import assert_clean_refusal

    person = shared_model("person_detect.tflite")
    assert_clean_refusal(_bench("--model", person, "--data", person_folder, "--mean", "0.1,0.2,0.3"),
                         "--mean gives 3 values (0.1,0.2,0.3) but input 'input' has 1 channel",
                         "give one value, e.g. --mean 0.1")
    assert_clean_refusal(_bench("--model", person, "--data", person_folder, "--std", "0"),
                         "--std is 0", "needs a standard deviation above 0")
    assert_clean_refusal(_bench("--model", person, "--data", person_folder, "--channels", "bgr"),
                         "--channels bgr orders colour channels, but input 'input' has 1 channel",
                         "leave out --channels")
    assert_clean_refusal(_bench("--model", person, "--random", "2", "--resize", "stretch"),
                         "--resize pre-process --data images", "leave out --resize")
    assert_clean_refusal(_bench("--model", EXAMPLE_MODEL, "--data", colour_folder, "--mean", "x"),
                         "--mean takes numbers separated by commas")
