"""The official download archives, and putting them in place safely.

Each archive is listed with the size and sha256 of the file its authors publish, and the
top-level entries of the official layout it provides (``102flowers.tgz`` -> ``jpg/``,
``lists.tar`` -> the three ``.mat`` lists, ...). Downloads stream to a temporary file
beside the destination and are renamed into place only once the hash matches, so an
interrupted or corrupted download never looks like a finished one. Archives are extracted
into a scratch folder first and only then moved into the dataset folder, and any member
that would land outside it (absolute paths, ``..``, links leaving the folder) is refused.
"""

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

FLOWERS102_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
STANFORD_DOGS_URL = "http://vision.stanford.edu/aditya86/ImageNetDogs/"
PLACES365_URL = "http://data.csail.mit.edu/places/places365/"

_CHUNK = 1 << 20


class DatasetNotFound(FileNotFoundError):
    """A dataset folder is missing or does not hold the official layout; the message says what to do."""


class ChecksumMismatch(ValueError):
    """A downloaded file does not have the published sha256."""


@dataclass(frozen=True)
class Archive:
    """One official file: its size and published hash, and what it puts in the dataset folder.

    Where the authors publish an MD5 only (Places365), ``sha256`` is None and ``md5`` is checked.
    """

    name: str
    size: int | None
    sha256: str | None
    provides: tuple
    md5: str | None = None

    @property
    def is_archive(self):
        return self.name.endswith((".tar", ".tgz", ".tar.gz"))

    @property
    def checksum(self):
        """(algorithm, hex digest) to verify the file with."""
        return ("sha256", self.sha256) if self.sha256 else ("md5", self.md5)


ARCHIVES = {
    "flowers102": (
        Archive("102flowers.tgz", 344_862_509,
                "2d01ecc807db462958cfe3d92f57a8c252b4abd240eb955770201e45f783b246", ("jpg",)),
        Archive("imagelabels.mat", 502,
                "4903e94206bac23bf772aadf06451916df56b58fc483a62db32a97b82656651d", ("imagelabels.mat",)),
        Archive("setid.mat", 14_989,
                "46b8678f91fd95d3c8f4feab80d271a6c834a1dd896fe29fd3e6ad9ce5c8dccd", ("setid.mat",)),
    ),
    "stanford_dogs": (
        Archive("images.tar", 793_579_520,
                "a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58", ("Images",)),
        Archive("annotation.tar", 21_852_160,
                "662ed36f707be6b195c2fda392d8e153e83af28cedc8e2134a649f198def30fd", ("Annotation",)),
        Archive("lists.tar", 481_280,
                "34b47cacd9a98b5d150e084f24d29391c084c55272295ec65c85651bc35f4d6c",
                ("file_list.mat", "train_list.mat", "test_list.mat")),
    ),
    # The MD5s the Places365 authors publish (as torchvision records them); sizes are not published.
    "places365": (
        Archive("filelist_places365-standard.tar", None, None,
                ("categories_places365.txt", "places365_train_standard.txt", "places365_val.txt"),
                md5="35a0585fee1fa656440f3ab298f8479c"),
        Archive("train_256_places365standard.tar", None, None, ("data_256",), md5="53ca1c756c3d1e7809517cc47c5561c5"),
        Archive("val_256.tar", None, None, ("val_256",), md5="e27b17d8d44f4af9a78502beb927f808"),
    ),
}
BASE_URLS = {"flowers102": FLOWERS102_URL, "stanford_dogs": STANFORD_DOGS_URL, "places365": PLACES365_URL}
TITLES = {"flowers102": "Oxford 102 Flowers", "stanford_dogs": "Stanford Dogs", "places365": "Places365-Standard"}


def missing_entries(dataset, root):
    """Top-level entries of the official layout absent from ``root`` (an empty folder counts as absent)."""
    root = Path(root)
    missing = []
    for archive in ARCHIVES[dataset]:
        for entry in archive.provides:
            path = root / entry
            present = path.is_file() if "." in entry else path.is_dir() and any(path.iterdir())
            if not present:
                missing.append(entry)
    return missing


def layout_message(dataset, root, missing=None, reason=None):
    """The "put these files there" text for a dataset folder that is not usable."""
    root = Path(root)
    base = BASE_URLS[dataset]
    missing = missing_entries(dataset, root) if missing is None else missing
    problem = reason or f"{root} is missing {', '.join(_shown(e) for e in missing)}"
    lines = [f"{TITLES[dataset]} not found: {problem}.",
             f"Put the official files in {root} so that it holds:"]
    entries = [", ".join(_shown(e) for e in archive.provides) for archive in ARCHIVES[dataset]]
    width = max(map(len, entries))
    for archive, entry in zip(ARCHIVES[dataset], entries):
        verb = "extract" if archive.is_archive else "download"
        size = f" ({archive.size:,} bytes)" if archive.size else ""
        lines.append(f"  {entry:<{width}}  <- {verb} {base}{archive.name}{size}")
    lines.append(f'or let colorkit fetch them: ensure_dataset("{dataset}", "{root}", download=True)'
                 " (it also extracts archives already put there by hand).")
    return "\n".join(lines)


def require_layout(dataset, root):
    """Return ``root`` as a Path when it holds the official layout, else raise DatasetNotFound."""
    root = Path(root).expanduser()
    missing = missing_entries(dataset, root)
    if missing:
        raise DatasetNotFound(layout_message(dataset, root, missing))
    return root


def _shown(entry):
    return entry if "." in entry else entry + "/"


def download(url, dest, expected, size=None, progress=True, algorithm="sha256"):
    """Fetch ``url`` to ``dest``, renamed into place only when its hash (``algorithm``) is ``expected``.

    Raises:
        ChecksumMismatch: wrong size or hash (the partial file is removed).
        urllib.error.URLError: no network, or the server refused.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    digest = hashlib.new(algorithm)
    got_size = 0
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=60) as response,
            tqdm(total=size, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar,
        ):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                got_size += len(chunk)
                bar.update(len(chunk))
        if size is not None and got_size != size:
            raise ChecksumMismatch(f"{dest.name}: expected {size:,} bytes, got {got_size:,} from {url}")
        if digest.hexdigest() != expected:
            raise ChecksumMismatch(
                f"{dest.name}: {algorithm} mismatch, expected {expected}, got {digest.hexdigest()} from {url}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def file_digest(path, algorithm="sha256"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_member(member, target):
    """Raise ValueError if extracting ``member`` could write or point outside ``target``."""
    name = PurePosixPath(member.name)
    where = f"unsafe archive member {member.name!r}"
    if name.is_absolute() or ".." in name.parts:
        raise ValueError(f"{where}: absolute path or '..' component")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise ValueError(f"{where}: devices and fifos are not allowed")
    dest = (target / name).resolve()
    if not dest.is_relative_to(target):
        raise ValueError(f"{where}: resolves outside {target}")
    if member.issym() or member.islnk():
        # A symlink is relative to its own folder, a hard link to the archive root.
        base = dest.parent if member.issym() else target
        link = (base / member.linkname).resolve()
        if PurePosixPath(member.linkname).is_absolute() or not link.is_relative_to(target):
            raise ValueError(f"{where}: link to {member.linkname!r} points outside {target}")


def safe_extract(archive, target):
    """Extract a tar / tgz into ``target``, refusing the whole archive if any member escapes it.

    Raises:
        ValueError: a member with an absolute path, ``..``, an outside link, or a device file.
    """
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, target)
        # The stdlib "data" filter re-checks at extraction time, against links made by
        # earlier members, which a listing-time check cannot see.
        tar.extractall(target, members=members, filter="data")
    return target


def _install(archive, path, root):
    """Put one downloaded file's entries into ``root``, never overwriting what is there."""
    if not archive.is_archive:
        return
    scratch = Path(tempfile.mkdtemp(dir=root, prefix=".extract-"))
    try:
        safe_extract(path, scratch)
        for entry in archive.provides:
            if not (root / entry).exists() and (scratch / entry).exists():
                os.replace(scratch / entry, root / entry)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    path.unlink()


def fetch(dataset, root, base_url=None, archives=None, progress=True):
    """Download and put in place whatever part of ``dataset``'s official layout ``root`` lacks.

    ``base_url`` replaces the official one (a mirror, or a ``file://`` folder in tests);
    ``archives`` replaces the official :class:`Archive` list (files whose hashes differ,
    such as the small stand-ins tests build).

    Raises:
        DatasetNotFound: offline or the server refused, with the manual instructions.
        ChecksumMismatch: a file arrived corrupted.
    """
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    base = base_url or BASE_URLS[dataset]
    if not base.endswith("/"):
        base += "/"
    for archive in archives or ARCHIVES[dataset]:
        if not any(entry in missing_entries(dataset, root) for entry in archive.provides):
            continue
        path = root / archive.name
        algorithm, expected = archive.checksum
        if path.is_file() and file_digest(path, algorithm) == expected:
            _install(archive, path, root)  # downloaded by hand, not yet extracted
            continue
        try:
            download(base + archive.name, path, expected, archive.size, progress=progress, algorithm=algorithm)
        except urllib.error.URLError as err:
            reason = f"could not download {base}{archive.name} ({getattr(err, 'reason', err)})"
            raise DatasetNotFound(layout_message(dataset, root, reason=reason)) from err
        _install(archive, path, root)
    return require_layout(dataset, root)
