"""The face the built-in avatar animates: a drawn default portrait or a user's photo.

A :class:`Portrait` is a still 256×256 (by default) BGR image plus where its eyes and
mouth are. :meth:`Portrait.frame` paints one video frame: eyelids for a blink, an
open mouth of the requested size and roundness, and a small head rotation/shift.

For a photo, OpenCV's bundled Haar cascade finds the largest frontal face; the image
is cropped square around it and the eyes/mouth are placed at the usual proportions
of a frontal face box. Without a detectable face the photo is centre-cropped and the
default proportions are used (the mouth may then sit off the real lips).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

_AA = cv2.LINE_AA


class PortraitError(ValueError):
    """The portrait image is missing or unreadable."""


@dataclass(frozen=True)
class FaceLayout:
    """Positions in the portrait's pixel coordinates."""

    eyes: tuple[tuple[int, int], tuple[int, int]]
    eye_axes: tuple[int, int]  # half width, half height of one eye
    mouth: tuple[int, int]
    mouth_half_width: int
    mouth_max_half_open: int
    pivot: tuple[int, int]  # head rotates around this point (the neck)
    skin: tuple[int, int, int]
    lips: tuple[int, int, int]


MOUTH_INSIDE = (40, 28, 72)  # BGR of the open mouth's inside (dark red)
TEETH = (235, 240, 240)


def _layout_from_box(x: int, y: int, w: int, h: int, skin, lips) -> FaceLayout:
    return FaceLayout(
        eyes=(
            (x + round(0.32 * w), y + round(0.42 * h)),
            (x + round(0.68 * w), y + round(0.42 * h)),
        ),
        eye_axes=(max(3, round(0.09 * w)), max(2, round(0.05 * h))),
        mouth=(x + w // 2, y + round(0.78 * h)),
        mouth_half_width=max(4, round(0.16 * w)),
        mouth_max_half_open=max(3, round(0.09 * h)),
        pivot=(x + w // 2, y + round(1.15 * h)),
        skin=skin,
        lips=lips,
    )


def _draw_default(size: int) -> tuple[np.ndarray, FaceLayout]:
    s = size / 256.0

    def p(x: float, y: float) -> tuple[int, int]:
        return round(x * s), round(y * s)

    def r(v: float) -> int:
        return max(1, round(v * s))

    skin, skin_dark = (122, 160, 212), (98, 132, 182)
    hair, lips = (38, 48, 62), (92, 88, 178)
    img = np.zeros((size, size, 3), np.uint8)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None]
    for c, (top, bottom) in enumerate(((150, 95), (120, 80), (95, 60))):
        img[:, :, c] = (top + (bottom - top) * ramp).astype(np.uint8)
    cv2.ellipse(img, p(128, 292), (r(122), r(84)), 0, 0, 360, (110, 72, 46), -1, _AA)  # shirt
    cv2.rectangle(img, p(108, 168), p(148, 222), skin_dark, -1)  # neck
    cv2.ellipse(img, p(128, 214), (r(26), r(14)), 0, 0, 180, skin_dark, -1, _AA)
    for ex in (66, 190):
        cv2.ellipse(img, p(ex, 124), (r(9), r(15)), 0, 0, 360, skin_dark, -1, _AA)  # ears
    cv2.ellipse(img, p(128, 120), (r(62), r(78)), 0, 0, 360, skin, -1, _AA)  # head
    cv2.ellipse(img, p(128, 86), (r(68), r(52)), 0, 180, 360, hair, -1, _AA)  # hair
    cv2.ellipse(img, p(100, 62), (r(36), r(16)), -20, 0, 360, hair, -1, _AA)
    cv2.ellipse(img, p(156, 62), (r(36), r(16)), 20, 0, 360, hair, -1, _AA)
    for ex, sign in ((104, -1), (152, 1)):
        cv2.ellipse(img, p(ex, 112), (r(12), r(7)), 0, 0, 360, (245, 245, 245), -1, _AA)
        cv2.circle(img, p(ex, 112), r(5.5), (50, 78, 120), -1, _AA)  # iris
        cv2.circle(img, p(ex, 112), r(2.5), (15, 15, 15), -1, _AA)  # pupil
        cv2.circle(img, p(ex + 2, 110), r(1.2), (255, 255, 255), -1, _AA)
        cv2.ellipse(img, p(ex, 112), (r(12), r(7)), 0, 180, 360, (40, 50, 70), r(1.5), _AA)
        cv2.ellipse(img, p(ex + sign, 99), (r(14), r(5)), 0, 190, 350, hair, r(3), _AA)  # brow
    nose = np.array([p(128, 116), p(122, 142), p(130, 145)], np.int32)
    cv2.polylines(img, [nose], False, skin_dark, r(2), _AA)
    cv2.line(img, p(110, 164), p(146, 164), lips, r(3), _AA)  # closed lips
    layout = FaceLayout(
        eyes=(p(104, 112), p(152, 112)),
        eye_axes=(r(13), r(8)),
        mouth=p(128, 164),
        mouth_half_width=r(19),
        mouth_max_half_open=r(13),
        pivot=p(128, 215),
        skin=skin,
        lips=lips,
    )
    return img, layout


def _patch_colour(img: np.ndarray, cx: int, cy: int, half: int) -> tuple[int, int, int]:
    h, w = img.shape[:2]
    patch = img[max(0, cy - half) : min(h, cy + half), max(0, cx - half) : min(w, cx + half)]
    if patch.size == 0:
        return (120, 150, 200)
    b, g, r = np.median(patch.reshape(-1, 3), axis=0)
    return int(b), int(g), int(r)


class Portrait:
    """A still face plus its layout; paints animated frames."""

    def __init__(self, image: np.ndarray, layout: FaceLayout) -> None:
        self.image = image
        self.layout = layout
        self.size = image.shape[0]

    @classmethod
    def default(cls, size: int = 256) -> Portrait:
        image, layout = _draw_default(size)
        return cls(image, layout)

    @classmethod
    def from_image(cls, path: Path, size: int = 256) -> Portrait:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise PortraitError(f"cannot read portrait image {path}")
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        cascade = cv2.CascadeClassifier(
            cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        )
        faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(32, 32))
        h, w = img.shape[:2]
        if len(faces):
            fx, fy, fw, fh = max(faces, key=lambda f: f[2] * f[3])
            side = min(round(fw * 1.9), h, w)
            cx, cy = fx + fw // 2, fy + round(fh * 0.55)
        else:
            side, cx, cy = min(h, w), w // 2, h // 2
        x0 = int(np.clip(cx - side // 2, 0, w - side))
        y0 = int(np.clip(cy - side // 2, 0, h - side))
        crop = cv2.resize(
            img[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_AREA
        )
        scale = size / side
        if len(faces):
            box = (
                round((fx - x0) * scale),
                round((fy - y0) * scale),
                round(fw * scale),
                round(fh * scale),
            )
        else:  # assume a centred face filling half the frame
            box = (size // 4, size // 5, size // 2, round(size * 0.6))
        bx, by, bw, bh = box
        skin = _patch_colour(crop, bx + bw // 4, by + round(0.62 * bh), max(2, bw // 16))
        # Sampling the real lips is unreliable at this scale: darken and redden the skin.
        lips = (round(skin[0] * 0.7), round(skin[1] * 0.6), round(min(255, skin[2] * 0.9)))
        return cls(crop, _layout_from_box(bx, by, bw, bh, skin, lips))

    def frame(
        self,
        mouth_open: float,
        mouth_round: float,
        blink: float,
        angle_deg: float,
        shift: tuple[float, float],
    ) -> np.ndarray:
        """One BGR frame: mouth open 0..1 (round 0..1), eyelids closed 0..1, head pose."""
        img = self.image.copy()
        lay = self.layout
        if blink > 0.01:
            ax, ay = lay.eye_axes
            for ex, ey in lay.eyes:
                lid = max(1, round(2 * ay * blink))
                top = ey - ay - 1
                cv2.ellipse(
                    img,
                    (ex, top + lid // 2),
                    (ax + 1, max(1, lid // 2 + 1)),
                    0,
                    0,
                    360,
                    lay.skin,
                    -1,
                    _AA,
                )
                cv2.ellipse(
                    img, (ex, top + lid), (ax, max(1, ay // 3)), 0, 0, 180, (40, 45, 60), 1, _AA
                )
        if mouth_open > 0.02:
            mx, my = lay.mouth
            half_w = max(3, round(lay.mouth_half_width * (1.0 - 0.35 * mouth_round)))
            half_h = max(1, round(lay.mouth_max_half_open * mouth_open))
            cv2.ellipse(img, (mx, my), (half_w, half_h), 0, 0, 360, MOUTH_INSIDE, -1, _AA)
            if mouth_open > 0.3:  # upper teeth show in a wide-open mouth
                teeth_h = max(1, half_h // 3)
                cv2.ellipse(
                    img,
                    (mx, my - half_h + teeth_h),
                    (round(half_w * 0.7), teeth_h),
                    0,
                    180,
                    360,
                    TEETH,
                    -1,
                    _AA,
                )
            cv2.ellipse(
                img,
                (mx, my),
                (half_w + 1, half_h + 1),
                0,
                0,
                360,
                lay.lips,
                max(2, self.size // 100),
                _AA,
            )
        if abs(angle_deg) > 1e-3 or abs(shift[0]) > 1e-3 or abs(shift[1]) > 1e-3:
            matrix = cv2.getRotationMatrix2D(
                (float(lay.pivot[0]), float(lay.pivot[1])), angle_deg, 1.0
            )
            matrix[:, 2] += shift
            img = cv2.warpAffine(
                img,
                matrix,
                (self.size, self.size),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        return img
