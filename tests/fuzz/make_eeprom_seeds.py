#!/usr/bin/env python3
"""Writes the synthetic seeds of the cmis_eeprom fuzz target (tests/fuzz/corpus/cmis_eeprom/).

The CMIS seeds (cmis-*.bin) are `hilt eeprom dump` images of the emulated modules; this script
makes what the emulator cannot: SFF-8636 (QSFP28) and SFF-8472 (SFP) images with valid checksums,
a flat-memory CMIS image, and a few broken ones. Deterministic: rerunning rewrites the same bytes.

    python3 tests/fuzz/make_eeprom_seeds.py [OUTDIR]
"""
import os
import struct
import sys


def put(buf, off, data):
    buf[off:off + len(data)] = data


def ascii_field(text, n):
    return text.encode().ljust(n, b" ")[:n]


def csum(buf, first, last):
    return sum(buf[first:last + 1]) & 0xFF


def sff8636(with_p03=True, flat=False):
    # Lower memory, upper page 00h, then pages 01h, 02h (absent here) and 03h: (3 * 1 + 1) * 128.
    img = bytearray(640 if with_p03 else 256)
    img[0] = 0x11  # QSFP28
    img[1] = 0x08  # SFF-8636 Rev 2.8-2.10
    img[2] = 0x04 if flat else 0x00
    img[3] = 0x21  # Tx2 LOS, Rx1 LOS
    img[6] = 0x80  # temperature high alarm
    put(img, 22, struct.pack(">h", 35 * 256))  # 35 C
    put(img, 26, struct.pack(">H", 33000))  # 3.3 V
    for lane in range(4):
        put(img, 34 + 2 * lane, struct.pack(">H", 8000 + lane))  # Rx power 0.8 mW
        put(img, 42 + 2 * lane, struct.pack(">H", 3500))  # 7 mA
        put(img, 50 + 2 * lane, struct.pack(">H", 9000))  # Tx power 0.9 mW
    img[93] = 0x04
    img[107] = 45  # class 8: 4.5 W
    img[128] = 0x11
    img[129] = 0xE3  # power class 4 + 7 + class 8
    img[130] = 0x07  # LC
    img[140] = 255
    img[142] = 2
    img[147] = 0x40
    put(img, 148, ascii_field("FUZZ OPTICS", 16))
    put(img, 165, b"\x00\x90\x65")
    put(img, 168, ascii_field("QSFP28-LR4-FZ", 16))
    put(img, 184, b"A1")
    put(img, 186, struct.pack(">H", 1310 * 20))
    img[190] = 70
    img[191] = csum(img, 128, 190)
    img[192] = 0x02
    img[195] = 0x00
    put(img, 196, ascii_field("SFFZ0000001", 16))
    put(img, 212, b"25011501")
    img[220] = 0x3C
    img[223] = csum(img, 192, 222)
    if with_p03:
        base = 4 * 128  # page 03h upper half starts at (0 * 256 + 3) * 128 + 128
        put(img, base + 0, struct.pack(">hhhh", 75 * 256, -5 * 256, 70 * 256, 0))
        put(img, base + 16, struct.pack(">HHHH", 36300, 29700, 34650, 31350))
        put(img, base + 48, struct.pack(">HHHH", 20000, 400, 15000, 600))
        put(img, base + 56, struct.pack(">HHHH", 50000, 1000, 45000, 2000))
        put(img, base + 64, struct.pack(">HHHH", 20000, 500, 15000, 700))
    return bytes(img)


def sff8472(external=False, with_a2=True):
    img = bytearray(512 if with_a2 else 256)
    img[0] = 0x03  # SFP/SFP+/SFP28
    img[1] = 0x04
    img[2] = 0x07  # LC
    put(img, 20, ascii_field("FUZZ SFP", 16))
    put(img, 37, b"\x00\x17\x6a")
    put(img, 40, ascii_field("SFP-10G-LR-FZ", 16))
    put(img, 56, ascii_field("A", 4))
    put(img, 60, struct.pack(">H", 1310))
    img[63] = csum(img, 0, 62)
    img[65] = 0x1A
    put(img, 68, ascii_field("SFPZ0000001", 16))
    put(img, 84, b"250115  ")
    img[92] = 0x50 if external else 0x68  # DDM, external or internal calibration
    img[93] = 0xF0
    img[94] = 0x08  # 12.3
    img[95] = csum(img, 64, 94)
    if with_a2:
        a2 = 256
        put(img, a2 + 0, struct.pack(">hhhh", 80 * 256, -10 * 256, 75 * 256, -5 * 256))
        put(img, a2 + 8, struct.pack(">HHHH", 36000, 30000, 35000, 31000))
        put(img, a2 + 16, struct.pack(">HHHH", 50000, 1000, 45000, 2000))
        put(img, a2 + 24, struct.pack(">HHHH", 20000, 500, 15000, 700))
        put(img, a2 + 32, struct.pack(">HHHH", 20000, 100, 15000, 200))
        if external:
            # Rx_PWR(4)..Rx_PWR(0), then slope/offset pairs for bias, Tx power, T, V.
            put(img, a2 + 56, struct.pack(">fffff", 0.0, 0.0, 1e-9, 1.0, 0.0))
            for k, off in enumerate((76, 80, 84, 88)):
                put(img, a2 + off, struct.pack(">Hh", 0x0100, k))
        img[a2 + 95] = csum(img, a2 + 0, a2 + 94)
        put(img, a2 + 96, struct.pack(">hHHHH", 40 * 256, 33000, 3500, 5000, 4000))
        img[a2 + 110] = 0x42
        img[a2 + 112] = 0x80
        img[a2 + 116] = 0x08
    return bytes(img)


def cmis_flat():
    img = bytearray(256)
    img[0] = 0x18  # QSFP-DD
    img[1] = 0x50  # CMIS 5.0
    img[2] = 0x80  # flat memory
    img[3] = 0x06  # ModuleReady
    put(img, 14, struct.pack(">hH", 30 * 256, 33000))
    img[85] = 0x02
    put(img, 86, bytes([0x11, 0x10, 0x88, 0x01, 0xFF]))
    img[128] = 0x18
    put(img, 129, ascii_field("FUZZ FLAT", 16))
    put(img, 148, ascii_field("QDD-AEC-FZ", 16))
    put(img, 182, b"25011500")
    img[200] = 0x20
    img[201] = 40
    img[222] = csum(img, 128, 221)
    return bytes(img)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "cmis_eeprom")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "sff8636-qsfp28.bin": sff8636(),
        "sff8636-lower-00h.bin": sff8636(with_p03=False),
        "sff8636-flat.bin": sff8636(with_p03=False, flat=True),
        "sff8472-internal.bin": sff8472(),
        "sff8472-external.bin": sff8472(external=True),
        "sff8472-a0h-only.bin": sff8472(with_a2=False),
        "cmis-flat.bin": cmis_flat(),
        "bad-truncated-200.bin": cmis_flat()[:200],
        "bad-not-multiple.bin": sff8636()[:300],
        "bad-identifier.bin": bytes([0xAB]) + bytes(255),
        "bad-zeros.bin": bytes(256),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
