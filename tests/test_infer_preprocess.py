"""The shared pre-processing and the pure-PyTorch Classifier (no Ikomia here)."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from torchvision.transforms._presets import ImageClassification

from helpers import TINY_ARCH
from mnas.__main__ import main
from mnas.infer.classifier import Classifier
from mnas.models import create_model
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD, MIN_IMAGE_SIDE, Preprocessor, preprocess, resize_image
from mnas.weights.model_file import save_model_file
from weights_helpers import randomize_


def reference_preprocess(rgb_uint8, size, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The textbook sequence the fused implementation must reproduce."""
    normalised = (resize_image(rgb_uint8, size).astype(np.float64) / 255.0 - mean) / std
    return normalised.transpose(2, 0, 1)[None]


@pytest.mark.parametrize("size", [224, 32, 600])  # shrink, shrink a lot, enlarge
def test_fused_preprocess_equals_the_textbook_sequence(size):
    photo = data.chelsea()
    x = preprocess(photo, size)
    assert x.dtype == np.float32 and x.shape == (1, 3, size, size) and x.flags.c_contiguous
    np.testing.assert_allclose(x, reference_preprocess(photo, size), atol=1e-5)


def block_means(image, rows, cols):
    """The mean of each `rows` x `cols` block of pixels, rounded half up as OpenCV rounds."""
    height, width, channels = image.shape
    blocks = image.astype(np.int32).reshape(height // rows, rows, width // cols, cols, channels)
    return ((blocks.sum(axis=(1, 3)) + rows * cols // 2) // (rows * cols)).astype(np.uint8)


def test_shrinking_halves_each_side_by_pair_means_then_one_bilinear_step():
    photo = cv2.resize(data.astronaut(), (640, 480), interpolation=cv2.INTER_AREA)  # even sides
    # 480x640 -> 224: both sides >= 448 are halved (2x2 means), then 240x320 -> 224 bilinear
    expected = cv2.resize(block_means(photo, 2, 2), (224, 224), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(resize_image(photo, 224), expected)
    # 480x640 -> 300: only the width is >= 2 x 300 and gets halved; then 480x320 -> 300 bilinear
    expected = cv2.resize(block_means(photo, 1, 2), (300, 300), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(resize_image(photo, 300), expected)
    # below twice the size (or enlarging): one bilinear resize
    for size in (330, 700):
        np.testing.assert_array_equal(resize_image(photo, size),
                                      cv2.resize(photo, (size, size), interpolation=cv2.INTER_LINEAR))


@pytest.fixture(scope="module")
def cifar_model(cifar10_root):
    """A model trained briefly by the training engine on CIFAR-10: a few seconds, but its top-1 spreads
    over the classes (a random model answers one class for every image, which would compare nothing)."""
    from mnas.data.decode import load_split
    from mnas.data.splits import stratified_split
    from mnas.train.config import TrainConfig
    from mnas.train.engine import seed_everything, train

    train_set, val_set = stratified_split(load_split(cifar10_root / "train", limit_per_class=100), 0.1)
    seed_everything(0)
    model = create_model(TINY_ARCH, num_classes=10, input_size=32)
    train(model, train_set, val_set, TrainConfig(epochs=2, batch_size=32, learning_rate=0.1, precise_bn_images=512))
    return model.eval()


def previous_resize(image, size):
    """The pre-processing before the halvings: INTER_AREA when shrinking, INTER_LINEAR when enlarging."""
    shrinking = image.shape[0] * image.shape[1] > size * size
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def torchvision_batch(images, size):
    """torchvision's ImageClassification transform at size x size (antialiased bilinear; no crop)."""
    transform = ImageClassification(crop_size=size, resize_size=size)
    transform.resize_size = [size, size]
    return np.stack([transform(torch.from_numpy(image).permute(2, 0, 1)).numpy() for image in images])


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
@pytest.mark.parametrize("height, width", [(480, 640), (96, 96)])  # 15-20x and 3x shrinking
def test_new_preprocessing_agrees_with_the_previous_top1_on_real_images(cifar_model, cifar10_root,
                                                                        height, width):
    """CIFAR-10 test images upscaled like a photo, pre-processed back to 32 px: top-1 of the halvings
    equals the previous INTER_AREA's, and agrees with torchvision's antialiased transform as often."""
    from mnas.data.decode import load_split

    test = load_split(cifar10_root / "test", limit_per_class=20)
    images = [cv2.resize(im.numpy(), (width, height), interpolation=cv2.INTER_CUBIC) for im in test.images]
    preprocessor = Preprocessor(32)

    def top1(batch):
        with torch.no_grad():
            return cifar_model(torch.from_numpy(batch)).argmax(1).numpy()

    ours = top1(preprocessor.batch(images))
    previous = top1(preprocessor.batch([previous_resize(im, 32) for im in images]))
    reference = top1(torchvision_batch(images, 32))
    assert len(set(reference.tolist())) >= 4  # the model tells images apart: the comparison means something
    assert np.mean(ours == previous) >= 0.95
    assert np.mean(ours == reference) >= np.mean(previous == reference) - 0.02


def test_channel_orders_grey_rgba_and_16_bit_are_converted():
    photo = data.chelsea()
    x = preprocess(photo, 64)
    np.testing.assert_array_equal(preprocess(np.ascontiguousarray(photo[:, :, ::-1]), 64,
                                             channel_order="bgr"), x)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 9, np.uint8)])
    np.testing.assert_array_equal(preprocess(rgba, 64), x)
    # 16 bit: v / 257 maps 0..65535 onto 0..255; only the resize's rounding differs from 8 bit (up to
    # 1 of 255 per resize step, and 8 bit takes two steps here: a halving and the last one)
    np.testing.assert_allclose(preprocess(photo.astype(np.uint16) * 257, 64), x, atol=0.04)
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


@pytest.mark.slow
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
