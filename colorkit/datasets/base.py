"""What every dataset source returns: train / val / test lists of images."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    """One source image.

    Args:
        path: str. The image file.
        box: tuple or None. ``(x0, y0, x1, y1)`` in the file's pixels to crop to
            (the annotated dog, or a window of an embedded sample photo). Defaults to None.
    """

    path: str
    box: tuple | None = None


@dataclass
class Splits:
    """Train / val / test lists, with the split policy that made them."""

    dataset: str
    split: str
    train: list = field(default_factory=list)
    val: list = field(default_factory=list)
    test: list = field(default_factory=list)

    def counts(self):
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def items(self):
        return (("train", self.train), ("val", self.val), ("test", self.test))
