"""Image -> network input: the one pre-processing function every backend shares (torch, ONNX Runtime).

``preprocess(image, input_size, mean, std)`` takes what a user or Ikomia hands over -- an RGB ``uint8``
``HxWx3`` array in the usual case -- and returns a contiguous ``float32`` ``1x3xSxS`` (NCHW) array, ready
for ``torch.from_numpy`` or an ONNX Runtime session. It is backend-neutral: numpy and one ``cv2.resize``.

Accepted inputs (anything else is a `ValueError` that names the input and says what was expected):

| input | taken as |
|---|---|
| ``HxWx3`` | colour in ``channel_order`` (``"rgb"``: Ikomia, PIL, skimage; ``"bgr"``: cv2.imread) |
| ``HxW``/``HxWx1`` | grey: the one channel feeds all three network channels |
| ``HxWx4`` | RGBA (or BGRA): alpha is dropped, not composited |
| ``uint8`` | 0..255 |
| ``uint16`` | 0..65535, mapped linearly onto the 8-bit range (v / 257), as a 16-bit PNG converted to 8 bits would be; done in float after resizing, so no precision is lost on the way |

Size: the whole image is resized to ``input_size x input_size`` -- a plain resize, aspect ratio not
kept, no centre crop. That is what the training engine does and what a classifier of detector boxes
needs (a crop would cut the object the detector framed). Interpolation: antialiased when shrinking, like
the antialiased bilinear resize of torchvision / PIL that the ImageNet weights were trained with (plain
bilinear would alias on large photos), at about the cost of a plain bilinear resize: each side that is
at least twice the target is first halved, as often as needed, by a bilinear resize at exactly half
size (which averages each pair of pixels: a 2-tap box filter, OpenCV's fast path), then one bilinear
resize covers the remaining factor (1 to 2) -- or, when what is left is small (at most
`SMALL_AREA_PIXELS`, e.g. on the way to 32 px), ``INTER_AREA``, whose cost grows with its source and is
negligible there. ``bench/infer_preprocess_bench.py`` compares its cost and its top-1 agreement with
torchvision's antialiased transform against ``INTER_AREA`` alone and plain bilinear (its figures:
docs/inference.md, "Pre-processing").
Enlarging is one bilinear resize.

Images whose shorter side is below `MIN_IMAGE_SIDE` are refused: there is nothing left to classify.

Image files (`read_image_file`, used wherever mnas decodes a file: datasets, streaming, ``python -m mnas
infer``): only regular files are opened (a FIFO named ``x.jpg`` would block ``open`` for ever), the
header is read first and an image of more than `MAX_IMAGE_PIXELS` is refused before any decoding, and
the EXIF orientation is applied (`apply_orientation`), as ``cv2.imread`` and PIL's ``exif_transpose`` do:
a phone photo trains and classifies upright everywhere, as Ikomia's own reading shows it.

Normalisation ``(v / 255 - mean) / std`` and the HWC -> CHW transpose are fused into one multiply-add
per output element with ``scale = 1 / (255 * std)`` and ``offset = -mean / std`` precomputed once per
`Preprocessor`; the transpose, channel reordering, alpha dropping and grey broadcasting are all numpy
views, so a call allocates only the resized image and (unless ``out`` is given) the output.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import stat
import warnings
from typing import Sequence

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_IMAGE_SIDE = 8
MAX_INPUT_SIZE = 1024  # a larger input_size is a typo: 1024 px already costs ~20x the compute of 224 px
CHANNEL_ORDERS = ("rgb", "bgr")
SMALL_AREA_PIXELS = 128 * 128  # below this, the last shrinking step averages areas (cheap at that size)
_DTYPE_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
# 2**26 = 67.1 million pixels: a 64-megapixel phone photo (9248 x 6936) fits, and already takes 192 MB
# decoded as RGB; a 2 MB JPEG of 10000 x 10000 would take 300 MB (16-bit: twice that) before any resizing
MAX_IMAGE_PIXELS = 2 ** 26
EXIF_ORIENTATION = 0x0112


def _cv2():
    """cv2, imported on first use: inside Ikomia it is Ikomia's bundled OpenCV, elsewhere opencv-python."""
    import cv2

    return cv2


def check_image(image, name: str = "image") -> np.ndarray:
    """Validate an image array; returns it as ``HxWxC`` (C in 1, 3, 4) without copying."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array (HxW, HxWx1, HxWx3 or HxWx4), "
                         f"got {type(image).__name__}")
    if image.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape}): expected an HxWx3 image of at least "
                         f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels")
    if image.dtype not in _DTYPE_MAX:
        raise ValueError(f"{name} has dtype {image.dtype}: expected uint8 (0..255) or uint16 (0..65535); "
                         "convert other types to 8-bit first")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name} has shape {image.shape}: expected HxW or HxWx1 (grey), HxWx3 (colour) "
                         "or HxWx4 (with alpha)")
    height, width = image.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ValueError(f"{name} is {width}x{height} pixels: expected at least "
                         f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} (a smaller image has too little to classify)")
    return image


def resize_image(image: np.ndarray, input_size: int) -> np.ndarray:
    """Plain resize of the whole image to ``input_size x input_size``: halvings, then one last step
    (see the module doc for why)."""
    cv2 = _cv2()
    height, width = image.shape[:2]
    while height >= 2 * input_size or width >= 2 * input_size:
        # bilinear at exactly (or, for an odd side, within 0.5 % of) half size: the mean of each pixel pair
        height = height // 2 if height >= 2 * input_size else height
        width = width // 2 if width >= 2 * input_size else width
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    if height != input_size or width != input_size:
        shrinking = height * width > input_size * input_size
        small = height * width <= SMALL_AREA_PIXELS
        interpolation = cv2.INTER_AREA if shrinking and small else cv2.INTER_LINEAR
        image = cv2.resize(image, (input_size, input_size), interpolation=interpolation)
    return image[:, :, None] if image.ndim == 2 else image  # cv2 drops a single channel axis


class ImageTooLarge(ValueError):
    """An image file whose header announces more than `MAX_IMAGE_PIXELS` pixels."""


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says (nothing decoded)."""

    path: str
    width: int
    height: int
    orientation: int = 1  # EXIF orientation, 1..8 (1: as stored)


@dataclasses.dataclass(frozen=True)
class ImageFile(ImageHeader):
    """An image file read but not decoded: its header and its bytes."""

    data: bytearray = dataclasses.field(default_factory=bytearray, repr=False)


def image_header(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageHeader:
    """The header of an image file, checked. `FileNotFoundError` when it is missing; `ValueError` when
    it is not a regular file, is empty, is no image PIL can identify, or has more than `max_pixels`."""
    with os.fdopen(_open_regular_file(str(path)), "rb") as handle:
        return _checked_header(handle, str(path), max_pixels)


def read_image_file(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageFile:
    """`image_header`, then the file's bytes (for the decoder): nothing is decoded before the checks."""
    with os.fdopen(_open_regular_file(str(path)), "rb") as handle:
        header = _checked_header(handle, str(path), max_pixels)
        handle.seek(0)
        return ImageFile(header.path, header.width, header.height, header.orientation, bytearray(handle.read()))


def _checked_header(handle, name: str, max_pixels: int) -> ImageHeader:
    width, height, orientation = _read_header(handle, name)
    if width * height > max_pixels:
        raise ImageTooLarge(f"image {name!r} is {width}x{height} pixels ({width * height / 1e6:.0f} "
                            f"megapixels): expected at most {max_pixels:,} pixels (MAX_IMAGE_PIXELS); shrink "
                            "it first")
    return ImageHeader(name, width, height, orientation)


def _open_regular_file(name: str) -> int:
    """A descriptor of `name`, refused unless it is a non-empty regular file. Checked with stat before
    opening: open() of a FIFO waits for a writer for ever (and wakes one that waits). Opened
    non-blocking and checked again: the name may have been swapped meanwhile."""
    try:
        _check_regular(os.stat(name), name)
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileNotFoundError(f"image {name!r} does not exist") from None
    except OSError as error:
        raise ValueError(f"image {name!r} cannot be opened ({error.strerror}): expected a readable image "
                         "file") from None
    try:
        _check_regular(os.fstat(fd), name)
    except ValueError:
        os.close(fd)
        raise
    return fd


def _check_regular(info: os.stat_result, name: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"image {name!r} is {_file_kind(info.st_mode)}, not a regular file: expected an "
                         "image file (PNG, JPEG, ...)")
    if not info.st_size:
        raise ValueError(f"image {name!r} is empty (0 bytes): expected an image file (PNG, JPEG, ...)")


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def _read_header(handle, name: str) -> tuple[int, int, int]:
    """(width, height, EXIF orientation) from the header alone (PIL decodes nothing in `Image.open`)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():  # PIL's own, looser bomb warning: the limit is checked here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                return image.width, image.height, _orientation(image)
    except Image.DecompressionBombError as error:  # beyond twice PIL's limit, far beyond ours
        raise ImageTooLarge(f"image {name!r} is too large ({error}): expected at most "
                            f"{MAX_IMAGE_PIXELS:,} pixels (MAX_IMAGE_PIXELS); shrink it first") from None
    except Exception as error:  # PIL raises many kinds for a file that is not an image
        detail = "" if isinstance(error, Image.UnidentifiedImageError) else f" ({error})"
        raise ValueError(f"image {name!r} cannot be read: expected an image file (PNG, JPEG, ...){detail}") \
            from None


def _orientation(image) -> int:
    """The EXIF orientation (1..8; 1 when absent or malformed), read without decoding the pixels."""
    if image.format == "PNG" and "exif" not in image.info:
        return 1  # PIL would decode the whole PNG to look for an eXIf chunk after the pixels
    try:
        orientation = int(image.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: the pixels are still fine
        return 1
    return orientation if orientation in _ORIENTATIONS else 1


# EXIF orientation -> the view that shows the image upright (what PIL's exif_transpose and cv2.imread do)
_ORIENTATIONS = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],                    # mirrored left-right
    3: lambda a: a[::-1, ::-1],                 # rotated 180
    4: lambda a: a[::-1],                       # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),              # transposed
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],     # turned 90 degrees: rotate clockwise
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transversed
    8: lambda a: a.swapaxes(0, 1)[::-1],        # turned 270 degrees: rotate anticlockwise
}


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """`image` (HxW or HxWxC) shown upright for its EXIF `orientation`; C-contiguous (cv2 needs it)."""
    return np.ascontiguousarray(_ORIENTATIONS.get(orientation, _ORIENTATIONS[1])(image))


class Preprocessor:
    """`preprocess` for one input size and normalisation, with its constants computed once."""

    def __init__(self, input_size: int, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD):
        if int(input_size) != input_size or not MIN_IMAGE_SIDE <= input_size <= MAX_INPUT_SIZE:
            raise ValueError(f"input_size must be an integer >= {MIN_IMAGE_SIDE} and <= {MAX_INPUT_SIZE}, got "
                             f"{input_size!r}")
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        std = np.asarray(std, dtype=np.float64).reshape(-1)
        if mean.shape != (3,) or std.shape != (3,) or np.any(std <= 0):
            raise ValueError(f"mean and std must be 3 values each, std > 0; got mean={mean.tolist()}, "
                             f"std={std.tolist()}")
        self.input_size = int(input_size)
        self.mean = tuple(mean.tolist())
        self.std = tuple(std.tolist())
        # out = v * scale + offset, per channel, for each accepted dtype (uint16: v / 257 first)
        self._scale = {dtype: (1.0 / (top * std)).astype(np.float32).reshape(3, 1, 1)
                       for dtype, top in _DTYPE_MAX.items()}
        self._offset = (-mean / std).astype(np.float32).reshape(3, 1, 1)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (1, 3, self.input_size, self.input_size)

    def __call__(self, image, *, channel_order: str = "rgb", out: np.ndarray | None = None,
                 name: str = "image") -> np.ndarray:
        """One image -> ``1x3xSxS`` float32; writes into `out` (a C-contiguous float32 array of that
        shape, e.g. one row of a batch buffer) when given."""
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"channel_order must be one of {CHANNEL_ORDERS}, got {channel_order!r}")
        image = check_image(image, name)
        dtype = image.dtype
        resized = resize_image(image, self.input_size)
        chw = resized.transpose(2, 0, 1)  # a view: C x S x S
        if chw.shape[0] == 4:
            chw = chw[:3]
        if channel_order == "bgr" and chw.shape[0] == 3:
            chw = chw[::-1]
        if out is None:
            out = np.empty(self.shape, dtype=np.float32)
        elif out.shape != self.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float32 array of shape {self.shape}, got "
                             f"{out.dtype} {out.shape}")
        # grey (1 x S x S) broadcasts against the 3-channel constants: no channel copies
        np.multiply(chw, self._scale[dtype], out=out[0], casting="unsafe")
        np.add(out[0], self._offset, out=out[0])
        return out


    def batch(self, images: Sequence[np.ndarray], *, channel_order: str = "rgb",
              name: str = "image") -> np.ndarray:
        """Several images -> one ``Nx3xSxS`` float32 batch, each written straight into its row."""
        if len(images) == 0:
            raise ValueError(f"no {name} given: expected at least one image")
        batch = np.empty((len(images), *self.shape[1:]), np.float32)
        for n, image in enumerate(images):
            self(image, channel_order=channel_order, out=batch[n:n + 1],
                 name=f"{name} {n}" if len(images) > 1 else name)
        return batch


@functools.lru_cache(maxsize=16)
def get_preprocessor(input_size: int, mean: tuple = IMAGENET_MEAN, std: tuple = IMAGENET_STD) -> Preprocessor:
    """A cached `Preprocessor` (its constants are computed once per size and normalisation)."""
    return Preprocessor(input_size, mean, std)


def _preprocessor(input_size, mean, std) -> Preprocessor:
    return get_preprocessor(int(input_size), tuple(map(float, mean)), tuple(map(float, std)))


def preprocess(image, input_size: int, mean: Sequence[float] = IMAGENET_MEAN,
               std: Sequence[float] = IMAGENET_STD, *, channel_order: str = "rgb",
               out: np.ndarray | None = None, name: str = "image") -> np.ndarray:
    """Image array -> contiguous float32 ``1x3xSxS`` network input (see the module doc)."""
    return _preprocessor(input_size, mean, std)(image, channel_order=channel_order, out=out, name=name)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as an RGB(A) / grey array, 8 or 16 bit as stored (cv2, unchanged depth), shown
    upright (EXIF orientation applied, as training decodes it). Regular files only, at most
    `MAX_IMAGE_PIXELS` (checked from the header before decoding): `read_image_file`."""
    import cv2

    file = read_image_file(path)
    image = cv2.imdecode(np.frombuffer(file.data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"image {str(path)!r} cannot be read: expected an image file (PNG, JPEG, ...)")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return image if file.orientation == 1 else apply_orientation(image, file.orientation)
