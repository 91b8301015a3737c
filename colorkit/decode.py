"""Turn any image file into RGB uint8, or say clearly why it cannot be used.

Real photo folders hold PNGs named ``.jpg``, grayscale files, scans with alpha, 16-bit
TIFFs, CMYK JPEGs from print workflows, half-downloaded files and grayscale photos saved
as RGB. Everything here decodes from the bytes with OpenCV (the extension is never
trusted) and raises :class:`SkipImage` with a one-line reason for what cannot become a
colour training image, so loaders can count and report skips instead of crashing.
"""

import cv2
import numpy as np

from colorkit.color import chroma

# Mean Lab chroma below which an image counts as having no colour: 1 Lab unit, under half
# a just-noticeable difference (about 2.3), so the average pixel is visibly gray. Grayscale
# photos saved as RGB measure 0.02-0.04 even after JPEG re-encoding; the least colourful
# real photos of the shared copies (white dogs on gray carpet, white flowers on black)
# measure 1.2-3, so the "3 units" one might guess would throw real colour photos away.
COLORLESS_CHROMA = 1.0

_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_JPEG_SOS = 0xDA


class SkipImage(Exception):
    """An image that cannot be used; ``str(err)`` is the human reason."""


def _jpeg_is_complete(data):
    """Whether a JPEG's main image has its end-of-image marker.

    Older OpenCV builds decode a truncated JPEG into a half-gray image with only a
    warning, so the structure is checked: walk the header segments to the first
    start-of-scan of the main image (skipping the EXIF thumbnail, which has its own EOI
    inside APP1), then look for EOI after it. Inside scan data a 0xFF byte is always
    stuffed (FF00) or a restart marker, so FFD9 there can only be the real end. Bytes
    appended after EOI (camera trailers) are fine.
    """
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            # Not the layout this walk expects (padding between segments, say): only ask
            # for an EOI somewhere after this point rather than reject a readable file.
            return data.find(_JPEG_EOI, pos) != -1
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _JPEG_SOS:
            return data.find(_JPEG_EOI, pos) != -1
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return False


def _decode_flags(data):
    # JPEGs carry no alpha, so decode them the way a viewer shows them: EXIF rotation
    # applied and CMYK converted. Other formats may carry alpha, which only
    # IMREAD_UNCHANGED keeps (it ignores EXIF rotation, rare outside JPEG).
    if data.startswith(_JPEG_SOI):
        return cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
    return cv2.IMREAD_UNCHANGED


def _to_unit_float(img):
    """Any OpenCV pixel depth -> float32 in [0, 1]."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    img = img.astype(np.float32)
    # Float TIFF/EXR are normally 0..1; anything else is clipped rather than rescaled so
    # an HDR highlight does not darken the whole picture.
    return np.clip(np.nan_to_num(img), 0.0, 1.0)


def _to_rgb8(img):
    """OpenCV decode result (gray / gray+alpha / BGR / BGRA, any depth) -> RGB uint8."""
    if img.ndim == 2:
        img = img[..., None]
    channels = img.shape[2]
    if channels not in (1, 2, 3, 4):
        raise SkipImage(f"unreadable: {channels} channels")
    if img.dtype == np.uint8 and channels in (1, 3):
        rgb = img if channels == 3 else np.repeat(img, 3, axis=2)
        return np.ascontiguousarray(rgb[..., ::-1] if channels == 3 else rgb)
    pixels = _to_unit_float(img)
    color = pixels[..., :3] if channels >= 3 else np.repeat(pixels[..., :1], 3, axis=2)
    if channels in (2, 4):
        # Composite on white: transparent areas of logos and cut-outs are meant to show
        # the page behind them, and dropping alpha would expose arbitrary hidden colours.
        alpha = pixels[..., -1:]
        color = color * alpha + (1.0 - alpha)
    bgr = np.clip(np.rint(color * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(bgr[..., ::-1] if channels >= 3 else bgr)


def read_rgb(path):
    """Decode an image file into an ``(H, W, 3)`` RGB uint8 array.

    Raises:
        SkipImage: empty, unreadable, undecodable or truncated file.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise SkipImage(f"unreadable: {err.strerror or err}") from err
    if data.size == 0:
        raise SkipImage("unreadable: empty file")
    raw = data.tobytes()
    if raw.startswith(_JPEG_SOI) and not _jpeg_is_complete(raw):
        raise SkipImage("truncated: JPEG has no end-of-image marker")
    try:
        img = cv2.imdecode(data, _decode_flags(raw))
    except cv2.error as err:
        raise SkipImage(f"unreadable: {str(err).strip().splitlines()[-1]}") from err
    if img is None or img.size == 0:
        raise SkipImage("unreadable: not an image OpenCV can decode (or a truncated one)")
    return _to_rgb8(img)


def is_colorless(rgb, threshold=COLORLESS_CHROMA):
    """True when an RGB uint8 image carries no colour to learn from.

    Mean Lab chroma below ``threshold`` (default :data:`COLORLESS_CHROMA`, 1 Lab unit)
    catches grayscale photos stored as RGB, which would teach the model to output gray.
    """
    return chroma(rgb) < threshold


def crop_box(rgb, box):
    """Crop ``rgb`` to ``box = (x0, y0, x1, y1)`` clipped to the image; None keeps it whole.

    Raises:
        SkipImage: the clipped box is empty (it lies outside the image).
    """
    if box is None:
        return rgb
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    x0, x1 = max(0, x0), min(width, x1)
    y0, y1 = max(0, y0), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        raise SkipImage(f"empty box {tuple(box)} for a {width}x{height} image")
    return rgb[y0:y1, x0:x1]


def load_example(example, crop_to_box=True):
    """Decode an :class:`~colorkit.datasets.base.Example`, cropped to its box.

    Raises:
        SkipImage: unreadable file, empty box, or no colour (mean chroma below threshold).
    """
    rgb = read_rgb(example.path)
    if crop_to_box:
        rgb = crop_box(rgb, example.box)
    if is_colorless(rgb):
        raise SkipImage(f"no colour (mean chroma {chroma(rgb):.1f})")
    return rgb
