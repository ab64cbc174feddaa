"""A fake camera for Chromium: a Y4M video of a QR code (any text), for
--use-file-for-fake-video-capture."""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image

WIDTH, HEIGHT = 640, 480


def qr_frame(text: str) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=6)
    code.add_data(text, optimize=0)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").convert("RGB")
    side = min(HEIGHT - 20, image.size[0])
    image = image.resize((side, side), Image.NEAREST)
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(image, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    return frame


def write_y4m(frame: Image.Image, path: Path, frames: int = 20) -> Path:
    """YUV 4:2:0 frames of one still image, looped by Chromium."""
    y, u, v = frame.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


def qr_video(text: str, path: Path) -> Path:
    return write_y4m(qr_frame(text), path)


def png_video(png: bytes, path: Path) -> Path:
    """A video of a QR image as served (e.g. a pass's PNG), centred on a white frame."""
    from io import BytesIO

    image = Image.open(BytesIO(png)).convert("RGB")
    side = min(HEIGHT - 20, max(image.size))
    image = image.resize((side, side), Image.NEAREST)
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(image, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    return write_y4m(frame, path)
