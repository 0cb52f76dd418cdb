"""Calibration inputs for bench/real-models, made deterministically (seeded) in each model's preprocessed range.

ResNet18: Fashion-MNIST training images (Debian's dataset-fashion-mnist) upscaled to 224x224, grey in all three planes,
minus the ImageNet channel means as ML.NET's ResNetPreprocess subtracts them (BGR order, 0-255 scale).
PP-OCRv4 det: synthetic pages, white with dark text-like strokes in lines, ImageNet mean/std normalised (RGB).
ppocr cls: synthetic text lines 48x192, (x/255 - 0.5)/0.5.
The speed of a quantized model depends on its placement, not on the values; the values only need the right range,
and the tables give each model's output SQNR so that a collapsed conversion is visible.
usage: real_models_data.py resnet18|ppocr_det|ppocr_cls CxHxW SAMPLES OUT.npy
"""
import gzip
import sys

import numpy as np

key, shape, count, out = sys.argv[1], [int(d) for d in sys.argv[2].split("x")], int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(20261203)
c, h, w = shape


def strokes(height, width, lines):
    """A white canvas with `lines` rows of dark, randomly broken strokes, values 0-255."""
    img = np.full((height, width), 255.0, np.float32)
    line_height = max(6, height // (lines * 2))
    for i in range(lines):
        top = int((i + 0.5) * height / lines) - line_height // 2
        x = int(rng.integers(0, max(1, width // 8)))
        end = int(width - rng.integers(0, max(1, width // 4)))
        while x < end:
            glyph = int(rng.integers(line_height // 3 + 1, line_height + 2))
            mask = rng.random((line_height, glyph)) < 0.45
            img[top:top + line_height, x:x + glyph][mask[: max(0, min(line_height, height - top)), : max(0, min(glyph, width - x))]] = rng.uniform(0, 80)
            x += glyph + int(rng.integers(1, line_height // 2 + 2))
    return img


if key == "resnet18":
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:count].astype(np.float32)
    up = images.repeat(h // 28, axis=1).repeat(w // 28, axis=2)
    mean_bgr = np.array([103.94, 116.78, 123.68], np.float32).reshape(1, 3, 1, 1)
    data = up[:, None, :, :].repeat(3, axis=1) - mean_bgr
elif key == "ppocr_det":
    mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
    std = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)
    pages = [strokes(h, w, int(rng.integers(8, 20))) for _ in range(count)]
    data = np.stack([(np.repeat(p[None] / 255.0, 3, axis=0) - mean) / std for p in pages])
elif key == "ppocr_cls":
    lines = [strokes(h, w, 1) for _ in range(count)]
    data = np.stack([np.repeat((l[None] / 255.0 - 0.5) / 0.5, 3, axis=0) for l in lines])

else:
    sys.exit(f"real_models_data.py: unknown model '{key}'")

np.save(out, np.ascontiguousarray(data, dtype=np.float32))
