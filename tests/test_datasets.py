"""Dataset sources on tiny official layouts built here, archives included, and on the shared copies.

Nothing here touches the network: downloads read ``file://`` URLs of files made in tmp_path.
The real-data tests read ``$COLORKIT_SHARED_DATASETS`` (default: ``shared/datasets`` beside
the repository) and skip when it is absent.
"""

import io
import shutil
import tarfile
import urllib.error
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from helpers import shared_dataset

from colorkit.datasets import (
    DATASETS,
    SPLIT_POLICIES,
    DatasetNotFound,
    default_data_dir,
    ensure_dataset,
    folder,
    load_splits,
    sample,
)
from colorkit.datasets.archives import (
    ARCHIVES,
    Archive,
    ChecksumMismatch,
    download,
    fetch,
    file_digest,
    safe_extract,
)
from colorkit.decode import SkipImage, is_colorless, load_example, read_rgb

pytestmark = pytest.mark.backend_independent

BREEDS = ("n02085936-Maltese_dog", "n02099601-golden_retriever")


def _jpeg(path, seed=0, size=(24, 32)):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rng.integers(0, 256, (*size, 3), dtype=np.uint8))


def _row(ids):
    return np.asarray(ids, dtype=np.uint16)[None, :]  # official: 1 x N uint16


def build_flowers(root, missing=()):
    """12 images: trnid 1-4, valid 5-8, tstid 9-12; ids in ``missing`` get no file."""
    for i in range(1, 13):
        if i not in missing:
            _jpeg(root / "jpg" / f"image_{i:05d}.jpg", i)
    scipy.io.savemat(root / "imagelabels.mat", {"labels": np.arange(1, 13, dtype=np.uint8)[None, :] % 3 + 1})
    scipy.io.savemat(root / "setid.mat", {"trnid": _row([3, 1, 2, 4]), "valid": _row([5, 6, 7, 8]),
                                          "tstid": _row([9, 10, 11, 12])})
    return root


def _cells(strings):
    # MATLAB cell column of char arrays, as in the official lists: (N, 1) object of 1-element str arrays.
    cells = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        cells[i, 0] = np.array([s])
    return cells


def _voc(path, boxes, size=(32, 24)):
    objects = "".join(
        f"<object><name>dog</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
        f"<ymax>{y1}</ymax></bndbox></object>" for x0, y0, x1, y1 in boxes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height>"
                    f"<depth>3</depth></size>{objects}</annotation>")


def build_dogs(root, n_train=10, n_test=3, missing=()):
    """Two breeds, ``n_train`` train and ``n_test`` test images each; the first file has two dogs."""
    lists = {"train": [], "test": []}
    for label, breed in enumerate(BREEDS, start=1):
        synset = breed.split("-")[0]
        for n in range(n_train + n_test):
            rel = f"{breed}/{synset}_{100 + n}"
            lists["train" if n < n_train else "test"].append((rel, label))
            if rel + ".jpg" not in missing:
                _jpeg(root / "Images" / f"{rel}.jpg", n)
            boxes = [(2, 3, 10, 12), (5, 4, 30, 20)] if n == 0 else [(1, 1, 20, 20)]
            _voc(root / "Annotation" / rel, boxes)
    for name, entries in (("train", lists["train"]), ("test", lists["test"]),
                          ("file", lists["train"] + lists["test"])):
        scipy.io.savemat(root / f"{name}_list.mat", {
            "file_list": _cells([rel + ".jpg" for rel, _ in entries]),
            "annotation_list": _cells([rel for rel, _ in entries]),
            "labels": np.array([[label] for _, label in entries], dtype=np.uint8)})
    return root


def serve(dataset, layout, server):
    """Pack a built layout into the official archive files in ``server``; return matching specs."""
    server.mkdir(parents=True, exist_ok=True)
    specs = []
    for official in ARCHIVES[dataset]:
        path = server / official.name
        if official.is_archive:
            with tarfile.open(path, "w:gz" if official.name.endswith("gz") else "w") as tar:
                for entry in official.provides:
                    tar.add(layout / entry, arcname=entry)
        else:
            shutil.copy(layout / official.name, path)
        specs.append(Archive(official.name, path.stat().st_size, file_digest(path), official.provides))
    return tuple(specs)


def _names(examples):
    return [Path(e.path).name for e in examples]


def _every(splits):
    return splits.train + splits.val + splits.test


# --- registry, names and errors -------------------------------------------------------------------

def test_registry_lists_every_dataset_with_its_default_first():
    assert DATASETS == ("flowers102", "stanford_dogs", "places365", "folder", "sample", "photos")
    assert set(SPLIT_POLICIES) == set(DATASETS)
    assert SPLIT_POLICIES["flowers102"] == ("large_train", "official")
    assert SPLIT_POLICIES["stanford_dogs"] == ("official",)
    assert SPLIT_POLICIES["places365"] == ("standard",)
    assert SPLIT_POLICIES["folder"] == ("random_80_10_10", "all_train", "all_test", "subfolders")
    assert SPLIT_POLICIES["sample"] == ("by_photo",)
    assert SPLIT_POLICIES["photos"] == ("default",)


def test_unknown_dataset_and_split_name_the_value_and_the_choices(tmp_path):
    with pytest.raises(ValueError, match=r"'mnist'.*flowers102, stanford_dogs, places365, folder, sample"):
        load_splits("mnist", tmp_path)
    with pytest.raises(ValueError, match="'mnist'"):
        ensure_dataset("mnist", tmp_path)
    with pytest.raises(ValueError, match=r"'train_big'.*large_train, official"):
        load_splits("flowers102", build_flowers(tmp_path), split="train_big")
    with pytest.raises(ValueError, match=r"'random'.*random_80_10_10, all_train, all_test"):
        load_splits("folder", tmp_path, split="random")


def test_missing_flowers_folder_says_what_to_put_where(tmp_path):
    root = tmp_path / "flowers"
    with pytest.raises(DatasetNotFound) as err:
        load_splits("flowers102", root)
    assert isinstance(err.value, FileNotFoundError)
    message = str(err.value)
    for text in (str(root), "jpg/", "imagelabels.mat", "setid.mat",
                 "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz", "download=True"):
        assert text in message


def test_incomplete_dogs_folder_names_only_what_is_missing(tmp_path):
    root = build_dogs(tmp_path / "dogs")
    shutil.rmtree(root / "Annotation")
    (root / "test_list.mat").unlink()
    with pytest.raises(DatasetNotFound) as err:
        ensure_dataset("stanford_dogs", root)
    first_line, *rest = str(err.value).splitlines()
    assert "Annotation/" in first_line and "test_list.mat" in first_line and "Images/" not in first_line
    assert "http://vision.stanford.edu/aditya86/ImageNetDogs/annotation.tar" in "\n".join(rest)


def test_malformed_mat_file_is_dataset_not_found(tmp_path):
    root = build_flowers(tmp_path)
    scipy.io.savemat(root / "setid.mat", {"trnid": _row([1])})
    with pytest.raises(DatasetNotFound, match=r"setid\.mat is not the official"):
        load_splits("flowers102", root)
    (root / "setid.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetNotFound, match=r"setid\.mat"):
        load_splits("flowers102", root)


def test_default_data_dir_comes_from_the_environment(tmp_path, monkeypatch):
    build_flowers(tmp_path / "flowers102")
    monkeypatch.setenv("COLORKIT_DATA", str(tmp_path))
    assert load_splits("flowers102", split="official").counts() == {"train": 4, "val": 4, "test": 4}
    assert default_data_dir("photos") == tmp_path  # photos' two parts sit side by side in it


# --- Oxford 102 Flowers ---------------------------------------------------------------------------

def test_flowers_policies(tmp_path):
    root = build_flowers(tmp_path)
    official = load_splits("flowers102", root, "official")
    assert (official.dataset, official.split) == ("flowers102", "official")
    assert _names(official.train) == [f"image_{i:05d}.jpg" for i in (1, 2, 3, 4)]
    assert _names(official.test) == [f"image_{i:05d}.jpg" for i in (9, 10, 11, 12)]
    large = load_splits("flowers102", root)
    assert large.split == "large_train"
    assert (large.train, large.val, large.test) == (official.test, official.val, official.train)
    assert all(e.box is None for e in _every(large))


def test_flowers_missing_files_are_skipped_with_one_counted_warning(tmp_path):
    root = build_flowers(tmp_path, missing=(10, 12, 6))
    with pytest.warns(UserWarning, match="skipped 3 images") as record:
        splits = load_splits("flowers102", root, "official")
    assert len(record) == 1
    assert splits.counts() == {"train": 4, "val": 3, "test": 2}


# --- Stanford Dogs --------------------------------------------------------------------------------

def test_dogs_val_is_carved_per_breed_deterministically(tmp_path):
    root = build_dogs(tmp_path)
    splits = load_splits("stanford_dogs", root)
    assert splits.counts() == {"train": 18, "val": 2, "test": 6}
    assert {Path(e.path).parent.name for e in splits.val} == set(BREEDS)  # one per breed
    assert load_splits("stanford_dogs", root) == splits
    other = [load_splits("stanford_dogs", root, seed=s).val for s in range(1, 6)]
    assert any(v != splits.val for v in other)
    assert not {e.path for e in splits.train} & {e.path for e in splits.val}


def test_dogs_boxes_are_the_largest_dog_only_when_asked(tmp_path):
    root = build_dogs(tmp_path)
    plain = load_splits("stanford_dogs", root)
    assert all(e.box is None for e in _every(plain))
    boxed = load_splits("stanford_dogs", root, crop_to_box=True, seed=3)
    by_name = {Path(e.path).name: e.box for e in _every(boxed)}
    assert by_name["n02085936_100.jpg"] == (5, 4, 30, 20)
    assert by_name["n02085936_101.jpg"] == (1, 1, 20, 20)


def test_dogs_missing_images_and_annotations_are_counted(tmp_path):
    root = build_dogs(tmp_path, missing=(f"{BREEDS[0]}/n02085936_100.jpg", f"{BREEDS[1]}/n02099601_111.jpg"))
    (root / "Annotation" / BREEDS[0] / "n02085936_101").unlink()
    with pytest.warns(UserWarning, match="skipped 2 listed images.*1 without a readable box"):
        splits = load_splits("stanford_dogs", root, crop_to_box=True)
    assert sum(splits.counts().values()) == 24
    assert sum(e.box is None for e in _every(splits)) == 1


# --- a folder of photos ---------------------------------------------------------------------------

def test_folder_finds_images_recursively_and_ignores_the_rest(tmp_path):
    for rel in ("b/IMG_2.JPG", "a/x.png", "a/deep/y.webp", "c.Tiff", "d.jpeg", "e.bmp"):
        _jpeg(tmp_path / rel)
    for rel in ("notes.txt", ".hidden.jpg", "a/._x.png", ".cache/z.jpg", "f.gif"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert folder.list_images(tmp_path) == ["a/deep/y.webp", "a/x.png", "b/IMG_2.JPG", "c.Tiff", "d.jpeg",
                                            "e.bmp"]


def test_folder_split_is_seeded_and_independent_of_creation_order(tmp_path):
    names = [f"p{i:02d}.jpg" for i in range(20)]
    for root, order in ((tmp_path / "one", names), (tmp_path / "two", names[::-1])):
        for name in order:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(b"")
    one, two = load_splits("folder", tmp_path / "one"), load_splits("folder", tmp_path / "two")
    assert one.counts() == {"train": 16, "val": 2, "test": 2}
    assert [_names(p) for _, p in one.items()] == [_names(p) for _, p in two.items()]
    assert sorted(_names(_every(one))) == names
    assert load_splits("folder", tmp_path / "one", seed=1).val != one.val
    assert load_splits("folder", tmp_path / "one", "all_train").counts() == {"train": 20, "val": 0, "test": 0}
    assert load_splits("folder", tmp_path / "one", "all_test").counts() == {"train": 0, "val": 0, "test": 20}


def test_folder_errors_say_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFound, match="does not exist"):
        load_splits("folder", tmp_path / "nope")
    with pytest.raises(DatasetNotFound, match=r"no photos found.*jpg, jpeg, png"):
        load_splits("folder", tmp_path)
    with pytest.raises(DatasetNotFound, match="needs data_dir"):
        load_splits("folder")
    _jpeg(tmp_path / "one.jpg")
    assert ensure_dataset("folder", tmp_path) == tmp_path
    assert load_splits("folder", tmp_path).counts() == {"train": 1, "val": 0, "test": 0}


# --- the embedded sample ----------------------------------------------------------------------------

def test_sample_windows_split_by_photo():
    splits = load_splits("sample", "/ignored")
    counts = splits.counts()
    assert 100 <= counts["train"] <= 200 and counts["val"] > 0 and counts["test"] > 0
    photos = {name: {e.path for e in part} for name, part in splits.items()}
    assert not photos["train"] & photos["val"] and not photos["train"] & photos["test"]
    assert not photos["val"] & photos["test"]
    assert len(photos["train"]) == 6
    for e in _every(splits):
        x0, y0, x1, y1 = e.box
        assert x1 - x0 == y1 - y0 > 100 and x0 >= 0 and y0 >= 0
    assert load_splits("sample") == splits
    assert ensure_dataset("sample") == sample.SKIMAGE_DATA


def test_sample_windows_cover_both_edges():
    boxes = sample.windows(100, 300, scales=(1.0,))
    assert boxes[0] == (0, 0, 100, 100) and boxes[-1] == (200, 0, 300, 100)
    assert all(b[2] - b[0] == 100 for b in boxes)


def test_sample_crops_decode_in_colour():
    splits = load_splits("sample")
    for part in (splits.train, splits.val, splits.test):
        e = part[len(part) // 2]
        rgb = load_example(e)
        assert rgb.shape == (e.box[3] - e.box[1], e.box[2] - e.box[0], 3)
        assert not is_colorless(rgb)


# --- archives: download, extract, fetch --------------------------------------------------------------

def test_download_checks_the_hash_and_leaves_no_partial_file(tmp_path):
    src = tmp_path / "server" / "blob.bin"
    src.parent.mkdir()
    src.write_bytes(b"official bytes" * 1000)
    sha, size = file_digest(src), src.stat().st_size
    dest = tmp_path / "data" / "blob.bin"
    assert download(src.as_uri(), dest, sha, size, progress=False) == dest
    assert dest.read_bytes() == src.read_bytes()
    bad = "0" * 64
    with pytest.raises(ChecksumMismatch, match=rf"other\.bin: sha256 mismatch, expected {bad}, got {sha}"):
        download(src.as_uri(), tmp_path / "data" / "other.bin", bad, size, progress=False)
    with pytest.raises(ChecksumMismatch, match="expected 5 bytes"):
        download(src.as_uri(), tmp_path / "data" / "other.bin", sha, 5, progress=False)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]
    with pytest.raises(urllib.error.URLError):
        download((tmp_path / "absent.bin").as_uri(), tmp_path / "data" / "x.bin", sha, progress=False)


def _tar(path, add):
    with tarfile.open(path, "w") as tar:
        add(tar)
    return path


def _member(tar, name, kind=tarfile.REGTYPE, linkname="", data=b"payload"):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


@pytest.mark.parametrize(("name", "kind", "linkname", "why"), [
    ("../evil.txt", tarfile.REGTYPE, "", "'..'"),
    ("/tmp/evil.txt", tarfile.REGTYPE, "", "absolute"),
    ("sub/../../evil.txt", tarfile.REGTYPE, "", "'..'"),
    ("link", tarfile.SYMTYPE, "../../etc", "points outside"),
    ("sub/link", tarfile.SYMTYPE, "/etc/passwd", "points outside"),
    ("hard", tarfile.LNKTYPE, "../outside.txt", "points outside"),
    ("dev", tarfile.CHRTYPE, "", "devices"),
])
def test_safe_extract_refuses_members_escaping_the_target(tmp_path, name, kind, linkname, why):
    archive = _tar(tmp_path / "bad.tar", lambda tar: (_member(tar, "fine.txt"),
                                                      _member(tar, name, kind, linkname)))
    target = tmp_path / "target"
    with pytest.raises(ValueError, match=f"unsafe archive member.*{why}"):
        safe_extract(archive, target)
    assert not any(target.iterdir())  # refused before anything was written
    assert not (tmp_path / "evil.txt").exists()


def test_safe_extract_keeps_links_inside_the_target(tmp_path):
    archive = _tar(tmp_path / "ok.tar", lambda tar: (_member(tar, "d/a.txt", data=b"A"),
                                                     _member(tar, "d/b.txt", tarfile.SYMTYPE, "a.txt")))
    target = safe_extract(archive, tmp_path / "t")
    assert (target / "d" / "b.txt").read_bytes() == b"A"


def test_fetch_flowers_from_official_style_archives(tmp_path):
    specs = serve("flowers102", build_flowers(tmp_path / "made"), tmp_path / "server")
    root = fetch("flowers102", tmp_path / "flowers", base_url=(tmp_path / "server").as_uri(), archives=specs,
                            progress=False)
    assert sorted(p.name for p in root.iterdir()) == ["imagelabels.mat", "jpg", "setid.mat"]
    assert load_splits("flowers102", root, "official").counts() == {"train": 4, "val": 4, "test": 4}
    assert ensure_dataset("flowers102", root) == root


def test_fetch_dogs_only_downloads_what_is_missing(tmp_path):
    specs = serve("stanford_dogs", build_dogs(tmp_path / "made"), tmp_path / "server")
    root = tmp_path / "dogs"
    (root / "Images" / "mine").mkdir(parents=True)
    (root / "Images" / "mine" / "keep.txt").write_text("user data")
    (tmp_path / "server" / "images.tar").unlink()  # would fail if it were fetched
    with pytest.raises(DatasetNotFound):
        load_splits("stanford_dogs", root)
    fetch("stanford_dogs", root, base_url=(tmp_path / "server").as_uri() + "/", archives=specs, progress=False)
    assert (root / "Images" / "mine" / "keep.txt").read_text() == "user data"
    assert (root / "Annotation" / BREEDS[1] / "n02099601_100").is_file()
    assert sorted(p.name for p in root.iterdir()) == ["Annotation", "Images", "file_list.mat",
                                                     "test_list.mat", "train_list.mat"]


def test_fetch_extracts_archives_put_there_by_hand(tmp_path):
    specs = serve("stanford_dogs", build_dogs(tmp_path / "made"), tmp_path / "server")
    root = tmp_path / "dogs"
    shutil.copytree(tmp_path / "server", root)
    fetch("stanford_dogs", root, base_url=(tmp_path / "nowhere").as_uri(), archives=specs, progress=False)
    assert load_splits("stanford_dogs", root).counts() == {"train": 18, "val": 2, "test": 6}


def test_fetch_offline_is_dataset_not_found_with_instructions(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        fetch("flowers102", tmp_path / "flowers", base_url=(tmp_path / "offline").as_uri(), progress=False)
    message = str(err.value)
    assert "could not download" in message and "102flowers.tgz" in message and "setid.mat" in message
    assert not [p for p in (tmp_path / "flowers").iterdir()]  # no partial downloads left


def test_fetch_corrupted_archive_is_refused(tmp_path):
    specs = serve("flowers102", build_flowers(tmp_path / "made"), tmp_path / "server")
    corrupted = (specs[0].__class__(specs[0].name, specs[0].size, "f" * 64, specs[0].provides),) + specs[1:]
    with pytest.raises(ChecksumMismatch, match="102flowers.tgz"):
        fetch("flowers102", tmp_path / "flowers", (tmp_path / "server").as_uri(), corrupted, progress=False)
    assert not (tmp_path / "flowers" / "jpg").exists()


# --- the shared real copies -------------------------------------------------------------------------------

def _decode_some(splits, per_split=3):
    for part in (splits.train, splits.val, splits.test):
        for e in part[:: max(1, len(part) // per_split)][:per_split]:
            rgb = read_rgb(e.path)
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and min(rgb.shape[:2]) > 32


def test_real_flowers_counts_and_images():
    root = shared_dataset("flowers102")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shared setid.mat lists only present files
        official = load_splits("flowers102", root, "official")
    assert official.counts() == {"train": 1020, "val": 1020, "test": 5843}
    assert load_splits("flowers102", root).counts() == {"train": 5843, "val": 1020, "test": 1020}
    _decode_some(official)


def test_real_dogs_counts_boxes_and_images():
    root = shared_dataset("stanford_dogs")
    splits = load_splits("stanford_dogs", root, crop_to_box=True)
    counts = splits.counts()
    assert counts["train"] + counts["val"] == 400 and counts["test"] == 324
    assert 30 <= counts["val"] <= 50
    assert all(e.box is not None for e in _every(splits))
    _decode_some(splits)


def test_real_dogs_gray_photos_are_the_only_colourless_ones():
    splits = load_splits("stanford_dogs", shared_dataset("stanford_dogs"))
    skipped = set()
    for e in _every(splits):
        try:
            load_example(e)
        except SkipImage as err:
            assert str(err).startswith("no colour")
            skipped.add(Path(e.path).stem)
    assert skipped == {"n02085936_37", "n02085936_5404", "n02085936_8248"}


def test_folder_subfolders_policy_keeps_the_shipped_split(tmp_path):
    from colorkit.datasets import folder

    for part, count in (("train", 40), ("test", 3)):
        (tmp_path / part).mkdir()
        for i in range(count):
            (tmp_path / part / f"{i:02d}.jpg").write_bytes(b"x")
    splits = folder.load_splits(tmp_path, "subfolders", seed=0)
    assert splits.counts() == {"train": 38, "val": 2, "test": 3}  # 5 % of train/ for validation
    assert all("/train/" in e.path for e in splits.train + splits.val)
    assert {e.path for e in splits.val} == {e.path for e in folder.load_splits(tmp_path, "subfolders", seed=0).val}
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "v.jpg").write_bytes(b"x")
    assert folder.load_splits(tmp_path, "subfolders").counts() == {"train": 40, "val": 1, "test": 3}
    import shutil

    shutil.rmtree(tmp_path / "test")
    with pytest.raises(DatasetNotFound, match="test/"):
        folder.load_splits(tmp_path, "subfolders")


def test_real_photos_are_both_parts_split_by_split():
    root = shared_dataset("flowers102").parent
    shared_dataset("stanford_dogs_crops")
    flowers = load_splits("flowers102", root / "flowers102", "large_train")
    crops = load_splits("folder", root / "stanford_dogs_crops", "subfolders")
    photos = load_splits("photos", root)
    assert (photos.dataset, photos.split) == ("photos", "default")
    for name, part in photos.items():
        assert part == getattr(flowers, name) + getattr(crops, name)  # the parts' own Examples, in order
    assert photos.counts() == {"train": 5843 + 11400, "val": 1020 + 600, "test": 1020 + 1200}
    trained = {Path(e.path).resolve() for e in photos.train + photos.val}
    assert not trained & {Path(e.path).resolve() for e in photos.test}
    assert all("/stanford_dogs_crops/test/" in e.path for e in photos.test[len(flowers.test):])
    assert ensure_dataset("photos", root) == root


def test_photos_without_a_part_names_the_missing_folder(tmp_path):
    shared = shared_dataset("flowers102").parent
    shared_dataset("stanford_dogs_crops")
    (tmp_path / "flowers102").symlink_to(shared / "flowers102")
    for call in (lambda: load_splits("photos", tmp_path), lambda: ensure_dataset("photos", tmp_path, download=True)):
        with pytest.raises(DatasetNotFound) as err:
            call()  # download=True fetches nothing: the crops cannot be downloaded
        first_line, *rest = str(err.value).splitlines()
        assert first_line == f"photos: {tmp_path} is missing stanford_dogs_crops/"
        assert "cannot be downloaded" in rest[0] and "Oxford" not in str(err.value)
    # Only a few crops in train/, none in test/: the empty subfolder is named.
    breed = next((shared / "stanford_dogs_crops" / "train").iterdir())
    (tmp_path / "stanford_dogs_crops" / "train" / breed.name).mkdir(parents=True)
    for photo in sorted(breed.iterdir())[:3]:
        (tmp_path / "stanford_dogs_crops" / "train" / breed.name / photo.name).symlink_to(photo)
    with pytest.raises(DatasetNotFound, match=r"stanford_dogs_crops/ has no photos in test/"):
        ensure_dataset("photos", tmp_path)
    # The crops alone: flowers102/ is named, with how to fetch it.
    (tmp_path / "flowers102").unlink()
    (tmp_path / "stanford_dogs_crops").rename(tmp_path / "partial")
    (tmp_path / "stanford_dogs_crops").symlink_to(shared / "stanford_dogs_crops")
    with pytest.raises(DatasetNotFound) as err:
        load_splits("photos", tmp_path)
    first_line, *rest = str(err.value).splitlines()
    assert first_line == f"photos: {tmp_path} is missing flowers102/"
    assert "102flowers.tgz" in "\n".join(rest) and 'ensure_dataset("photos"' in rest[-1]
