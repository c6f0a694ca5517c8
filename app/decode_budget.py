"""Cheap byte walks that bound a decoder's work before it starts.

The pixel limit alone does not bound decoding time. A progressive JPEG is decoded once per scan, and nothing in
the format limits the number of scans: a 70 kB file that repeats one 31-byte scan thousands of times over a
4000x4000 frame costs libjpeg seconds to minutes of CPU, and Pillow offers no scan limit. A PNG is read chunk by
chunk in Python (Pillow's reader, and our fast path's CRC walk), so 120,000 empty chunks cost seconds too.

So before any decoder runs: JPEG markers are walked (header segments by their length, entropy-coded data with a
C-speed regex) to count scans and entropy bytes; PNG chunk headers are walked up to a count. Every image that
passes decodes in work proportional to its pixels (at most `SCAN_WORK_FACTOR` passes over the largest legal image).

A JPEG that claims more blocks than its entropy-coded data can encode is refused as corrupt: each 8x8 block of
the full-resolution component needs at least one Huffman-coded bit in its first scan, so fewer bytes than
blocks/8 means the header lies (libjpeg would only warn and hand back grey filler for the missing rows).
"""

from __future__ import annotations

import re
import struct

from app.errors import NotAnImageError, PayloadTooLargeError

JPEG_START = b"\xff\xd8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A normal progressive JPEG has 6 (greyscale) to 10 (colour) scans; encoders that tune scans stay under about 20.
MAX_JPEG_SCANS = 64
# Scans x pixels may not exceed this many passes over the largest legal image (max_image_pixels).
SCAN_WORK_FACTOR = 16
# Legal PNGs need a handful of chunks plus their IDATs (2 MiB of 1 KiB IDATs is 2,048 chunks).
MAX_PNG_CHUNKS = 4096
# Frame markers: baseline, extended and progressive Huffman JPEGs are what browsers and cameras write.
HUFFMAN_FRAMES = {0xC0, 0xC1, 0xC2}
OTHER_FRAMES = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # lossless, hierarchical, arithmetic
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
# The next marker after entropy-coded data: 0xFF followed by anything but stuffing (00), RSTn or fill (FF).
NEXT_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")
CORRUPT = "This is not an image we can read (or it is corrupt or truncated); send PNG, JPEG, WebP, GIF or BMP."


def check_decode_budget(data: bytes, max_pixels: int) -> None:
    """Refuse a JPEG or PNG whose decoding would cost more than its pixels justify; other formats pass."""
    if data.startswith(JPEG_START):
        check_jpeg(data, max_pixels)
    elif data.startswith(PNG_SIGNATURE):
        check_png_chunks(data)


def check_jpeg(data: bytes, max_pixels: int) -> None:
    """Count scans and entropy-coded bytes up to the first EOI; refuse scan bombs and lying headers."""
    position, scans, entropy_bytes = 2, 0, 0
    frame: tuple[int, int, int] | None = None  # width, height, marker
    size = len(data)
    while position + 4 <= size:
        if data[position] != 0xFF:
            position += 1  # libjpeg skips stray bytes between segments (with a warning); so do we
            continue
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1  # fill byte
            continue
        if marker == 0xD9:  # EOI: what follows (an MPF secondary image, trailing junk) is not decoded
            break
        if marker in STANDALONE or marker == 0x00:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if marker in HUFFMAN_FRAMES or marker in OTHER_FRAMES:
            if marker in OTHER_FRAMES:
                raise NotAnImageError("This JPEG uses arithmetic, lossless or hierarchical coding, which we do not "
                                      "read; save it as an ordinary JPEG or as PNG.")
            if position + 9 <= size:
                height, width = struct.unpack_from(">HH", data, position + 5)
                frame = (width, height, marker)
        position += 2 + length
        if marker == 0xDA:  # SOS: its header, then entropy-coded data up to the next real marker
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise PayloadTooLargeError(f"The JPEG has more than {MAX_JPEG_SCANS} scans (a normal progressive "
                                           "JPEG has about 10); save it as an ordinary JPEG or as PNG.")
            found = NEXT_MARKER.search(data, position)
            end = found.start() if found else size
            entropy_bytes += end - position
            position = end
    if frame is None or scans == 0:
        return  # no frame or no scan: the decoder itself says it is broken
    width, height, _ = frame
    pixels = width * height
    if pixels > max_pixels:
        return  # the pixel limit refuses it, with its own message
    if scans * pixels > SCAN_WORK_FACTOR * max_pixels:
        raise PayloadTooLargeError(f"The JPEG is {width}x{height} pixels in {scans} scans; that is more decoding "
                                   f"work than we allow ({SCAN_WORK_FACTOR} passes over {max_pixels:,} pixels).")
    blocks = -(-width // 8) * -(-height // 8)
    if entropy_bytes * 8 < blocks:
        raise NotAnImageError(CORRUPT)


def check_png_chunks(data: bytes) -> None:
    """Walk chunk headers only (no CRC) and refuse a PNG of more than MAX_PNG_CHUNKS chunks."""
    position, count, size = len(PNG_SIGNATURE), 0, len(data)
    while position + 8 <= size:
        count += 1
        if count > MAX_PNG_CHUNKS:
            raise PayloadTooLargeError(f"The PNG has more than {MAX_PNG_CHUNKS:,} chunks; save it again with an "
                                       "ordinary image editor.")
        (length,) = struct.unpack_from(">I", data, position)
        if data[position + 4 : position + 8] == b"IEND":
            return
        position += 12 + length
