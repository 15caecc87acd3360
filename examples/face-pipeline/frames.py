"""Camera frames for the face pipeline: small JPEG images with a face-like
drawing on a noisy background, about 50 KB each.

With Debian's python3-pil the frames are real JPEGs (any viewer, and
OpenCV, decodes them). Without it they are JPEG-shaped payloads of the same
size: start/end-of-image markers around a comment segment of filler bytes,
fine for moving bytes through Kafka but not decodable as a picture.
"""
import io
import random

try:
    from PIL import Image, ImageDraw
    HAVE_PIL = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_PIL = False


def _jpeg(seed, width, height):
    rnd = random.Random(seed)
    img = Image.effect_noise((width, height), 48).convert("RGB")
    d = ImageDraw.Draw(img)
    cx = width // 2 + rnd.randint(-width // 8, width // 8)
    cy = height // 2 + rnd.randint(-height // 12, height // 12)
    d.ellipse([cx - 50, cy - 65, cx + 50, cy + 65], fill=(224, 172, 105))
    d.ellipse([cx - 28, cy - 25, cx - 12, cy - 12], fill=(40, 40, 40))
    d.ellipse([cx + 12, cy - 25, cx + 28, cy - 12], fill=(40, 40, 40))
    d.arc([cx - 25, cy + 10, cx + 25, cy + 40], 20, 160, fill=(120, 20, 20), width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _jpeg_shaped(seed, size):
    rnd = random.Random(seed)
    body = bytes(rnd.getrandbits(8) for _ in range(size - 30))
    segs = []
    # A COM segment holds at most 65533 bytes of payload.
    for i in range(0, len(body), 65533):
        chunk = body[i:i + 65533]
        segs.append(b"\xff\xfe" + (len(chunk) + 2).to_bytes(2, "big") + chunk)
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"".join(segs) + b"\xff\xd9"


def make_frames(count, width=320, height=240, size=50_000):
    """`count` distinct frames (one per camera); reused frame after frame."""
    if HAVE_PIL:
        return [_jpeg(i, width, height) for i in range(count)]
    return [_jpeg_shaped(i, size) for i in range(count)]
