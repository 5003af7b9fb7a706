"""The shared pre-processing and the pure-PyTorch Classifier (no Ikomia here)."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from mnas import create_model
from mnas.__main__ import main
from mnas.infer import Classifier
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD, MIN_IMAGE_SIDE, Preprocessor, preprocess
from mnas.weights import save_model_file
from weights_helpers import randomize_


def reference_preprocess(rgb_uint8, size, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The textbook sequence the fused implementation must reproduce."""
    shrinking = rgb_uint8.shape[0] * rgb_uint8.shape[1] > size * size
    resized = cv2.resize(rgb_uint8, (size, size),
                         interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    normalised = (resized.astype(np.float64) / 255.0 - mean) / std
    return normalised.transpose(2, 0, 1)[None]


@pytest.mark.parametrize("size", [224, 32, 600])  # shrink, shrink a lot, enlarge
def test_fused_preprocess_equals_the_textbook_sequence(size):
    photo = data.chelsea()
    x = preprocess(photo, size)
    assert x.dtype == np.float32 and x.shape == (1, 3, size, size) and x.flags.c_contiguous
    np.testing.assert_allclose(x, reference_preprocess(photo, size), atol=1e-5)


def test_channel_orders_grey_rgba_and_16_bit_are_converted():
    photo = data.chelsea()
    x = preprocess(photo, 64)
    np.testing.assert_array_equal(preprocess(np.ascontiguousarray(photo[:, :, ::-1]), 64,
                                             channel_order="bgr"), x)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 9, np.uint8)])
    np.testing.assert_array_equal(preprocess(rgba, 64), x)
    # 16 bit: v / 257 maps 0..65535 onto 0..255; only the resize's rounding differs from 8 bit
    np.testing.assert_allclose(preprocess(photo.astype(np.uint16) * 257, 64), x, atol=0.02)
    grey = data.camera()
    expected = preprocess(np.dstack([grey] * 3), 64)
    np.testing.assert_allclose(preprocess(grey, 64), expected, atol=1e-6)
    np.testing.assert_allclose(preprocess(grey[:, :, None], 64), expected, atol=1e-6)


def test_preprocess_writes_into_a_given_batch_row():
    preprocessor = Preprocessor(32)
    batch = np.zeros((2, 3, 32, 32), np.float32)
    preprocessor(data.coffee(), out=batch[1:2])
    np.testing.assert_array_equal(batch[1:2], preprocessor(data.coffee()))
    assert not batch[0].any()
    with pytest.raises(ValueError, match="out must be a C-contiguous float32 array of shape"):
        preprocessor(data.coffee(), out=np.zeros((1, 3, 16, 16), np.float32))


@pytest.mark.parametrize("image, message", [
    (np.zeros((0, 0, 3), np.uint8), r"photo is empty \(shape \(0, 0, 3\)\): expected"),
    (np.zeros((1, 1, 3), np.uint8), "photo is 1x1 pixels: expected at least 8x8"),
    (np.zeros((20, MIN_IMAGE_SIDE - 1), np.uint8), "photo is 7x20 pixels: expected at least 8x8"),
    (np.zeros((20, 20, 3), np.float32), "photo has dtype float32: expected uint8 .* or uint16"),
    (np.zeros((20, 20, 2), np.uint8), r"photo has shape \(20, 20, 2\): expected HxW"),
    (np.zeros((2, 20, 20, 3), np.uint8), r"photo has shape \(2, 20, 20, 3\): expected"),
    ([[1, 2], [3, 4]], "photo must be a numpy array"),
])
def test_bad_images_are_clear_errors(image, message):
    with pytest.raises(ValueError, match=message):
        preprocess(image, 32, name="photo")


@pytest.fixture(scope="module")
def small_model_file(tmp_path_factory):
    model = randomize_(create_model("mnasnet_small", num_classes=3, input_size=32), seed=3)
    path = tmp_path_factory.mktemp("model") / "small.pt"
    return save_model_file(path, model, class_names=["ant", "bee", "cow"], input_size=32), model


def test_classifier_predicts_the_softmax_of_the_model(small_model_file):
    path, model = small_model_file
    classifier = Classifier.load(weight_file=path, device="cpu")
    images = [data.chelsea(), data.coffee()]
    probabilities = classifier.predict(images)
    with torch.no_grad():
        logits = model(torch.from_numpy(np.concatenate([preprocess(im, 32) for im in images])))
    np.testing.assert_allclose(probabilities, torch.softmax(logits, 1).numpy(), atol=1e-6)
    top = classifier.top_k(probabilities[0], 2)
    assert [name for name, _ in top] == [classifier.class_names[i] for i in np.argsort(-probabilities[0])[:2]]
    names, confidences = classifier.ranked(probabilities[1])
    assert sorted(names) == ["ant", "bee", "cow"] and confidences == sorted(confidences, reverse=True)


def test_infer_command_classifies_image_files(small_model_file, tmp_path, capsys):
    path, _ = small_model_file
    photo = tmp_path / "cat.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR))
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    assert main(["infer", str(photo), "--weights", str(path), "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 classes, 32 px" in out and f"{photo}: " in out
    assert main(["infer", str(not_an_image), str(photo), "--weights", str(path)]) == 1
    captured = capsys.readouterr()
    assert "cannot be read: expected an image file" in captured.err and f"{photo}: " in captured.out
    assert main(["infer", str(photo), "--weights", str(tmp_path / "absent.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
