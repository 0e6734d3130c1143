"""rag.ingest.staging (UI uploads, zips): type and size limits, safe zip extraction (no traversal, links, bombs)."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from rag.ingest import staging as upload

MB = 1 << 20


def write(path: Path, text: str = "A release.\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_accepted_files_are_copied_others_refused_with_reason(tmp_path):
    src = tmp_path / "in"
    good = write(src / "release.txt")
    also = write(src / "notes.md")
    bad = write(src / "tool.exe")
    big = write(src / "big.txt", "x" * (2 * MB))
    staged = upload.stage_uploads([good, also, bad, big, src / "gone.txt"], tmp_path / "uploads", max_bytes=MB)
    assert [p.name for p in staged.files] == ["release.txt", "notes.md"]
    assert all(p.parent.parent == tmp_path / "uploads" for p in staged.files)
    assert [staged.label(str(p)) for p in staged.files] == ["release.txt", "notes.md"]
    problems = {r.path: r.problem for r in staged.rejected}
    assert "not accepted" in problems["tool.exe"]
    assert "over the 1.0 MB limit" in problems["big.txt"]
    assert "missing" in problems["gone.txt"]
    assert all(r.status == "failed" and r.errors[0].startswith(r.path) for r in staged.rejected)


def test_same_name_twice_does_not_overwrite(tmp_path):
    a = write(tmp_path / "a" / "r.txt", "first")
    b = write(tmp_path / "b" / "r.txt", "second")
    staged = upload.stage_uploads([a, b], tmp_path / "uploads", MB)
    assert sorted(p.read_text() for p in staged.files) == ["first", "second"]


def test_same_content_again_lands_on_the_same_path(tmp_path):
    """A document's id comes from its path: a re-upload must not become a second document."""
    a = write(tmp_path / "a" / "r.txt", "same")
    first = upload.stage_uploads([a], tmp_path / "uploads", MB)
    second = upload.stage_uploads([a, a], tmp_path / "uploads", MB)
    assert first.files == second.files and len(second.files) == 1
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("one.txt", "One.")
    once = upload.stage_uploads([archive], tmp_path / "uploads", MB)
    assert upload.stage_uploads([archive], tmp_path / "uploads", MB).files == once.files


def test_zip_is_extracted_inside_its_folder_and_unsafe_members_skipped(tmp_path):
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("releases/one.txt", "One.")
        zf.writestr("two.jsonl", '{"title": "t", "text": "Two."}\n')
        zf.writestr("../escape.txt", "out")
        zf.writestr("/abs.txt", "abs")
        zf.writestr("run.sh", "echo")
        zf.writestr("__MACOSX/._one.txt", "meta")
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    staged = upload.stage_uploads([archive], tmp_path / "uploads", MB)
    folder = staged.files[0].parent.parent.parent  # uploads/<hash>/batch/releases/one.txt
    names = sorted(str(p.relative_to(folder)) for p in staged.files)
    assert names == ["batch/releases/one.txt", "batch/two.jsonl"]
    assert sorted(staged.labels.values()) == ["batch.zip/releases/one.txt", "batch.zip/two.jsonl"]
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "uploads" / "escape.txt").exists()
    problems = {r.path: r.problem for r in staged.rejected}
    assert "unsafe" in problems["batch.zip/../escape.txt"]
    assert "unsafe" in problems["batch.zip//abs.txt"]
    assert "unsafe" in problems["batch.zip/link.txt"]
    assert "not accepted" in problems["batch.zip/run.sh"]
    every_file = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p == archive or folder in p.parents for p in every_file)


def test_zip_over_the_size_cap_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.txt", "a" * (3 * MB))  # compresses to a few KB
    staged = upload.stage_uploads([archive], tmp_path / "uploads", MB)
    assert staged.files == []
    assert "unpacks to 3.0 MB" in staged.rejected[0].problem


def test_zip_with_lying_sizes_stops_at_the_cap(tmp_path, monkeypatch):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "a" * 600_000)
        zf.writestr("b.txt", "b" * 600_000)
    # Headers that claim tiny sizes must not let more bytes through than the cap.
    real_infolist = zipfile.ZipFile.infolist

    def lying_infolist(self):
        infos = real_infolist(self)
        for info in infos:
            info.file_size = 10
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)
    staged = upload.stage_uploads([archive], tmp_path / "uploads", MB)
    written = sum(p.stat().st_size for p in (tmp_path / "uploads").rglob("*") if p.is_file())
    assert written <= MB and staged.files == []
    assert [r.path for r in staged.rejected] == ["liar.zip/a.txt", "liar.zip/b.txt"]
    assert all("could not be extracted" in r.problem for r in staged.rejected)


def test_zip_member_count_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "MAX_ZIP_MEMBERS", 3)
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(4):
            zf.writestr(f"r{i}.txt", "x")
    staged = upload.stage_uploads([archive], tmp_path / "uploads", MB)
    assert staged.files == [] and "more than the 3 allowed" in staged.rejected[0].problem


def test_broken_zip_is_reported(tmp_path):
    archive = write(tmp_path / "broken.zip", "not a zip")
    staged = upload.stage_uploads([archive], tmp_path / "uploads", MB)
    assert staged.files == [] and "not a readable zip" in staged.rejected[0].problem


def test_uploads_accept_exactly_what_rag_ingest_reads():
    from rag.ingest.readers import SUPPORTED_SUFFIXES

    assert upload.DOCUMENT_SUFFIXES == SUPPORTED_SUFFIXES
    assert {".markdown", ".jsonl.gz"} <= upload.UPLOAD_SUFFIXES


@pytest.mark.parametrize("suffix", sorted(upload.DOCUMENT_SUFFIXES))
def test_every_documented_type_is_accepted(tmp_path, suffix):
    path = write(tmp_path / f"r{suffix}")
    staged = upload.stage_uploads([path], tmp_path / "uploads", MB)
    assert len(staged.files) == 1, staged.rejected
