"""Uploaded files and zip archives -> folders under data_dir that the ingest pipeline can read
(the UI's uploads go to data_dir/uploads/; zips given to `rag ingest` are unpacked under
data_dir/unpacked/ by the pipeline itself).

Each upload lands in uploads/<hash of its bytes>/<its name>: a document's id comes from its file's
path, so uploading the same file again gives the same path and the pipeline reports it unchanged
instead of storing a duplicate (with a timestamped folder every re-upload was a new document).

Checks type and size before anything is stored, and extracts zip archives safely: no absolute
paths or `..` components, no links, a cap on member count and on the uncompressed total (a zip
bomb's headers may lie, so the bytes are counted as they are written).
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rag.ingest.readers import SUPPORTED_SUFFIXES, WEB_PAGE_SUFFIXES, file_suffix, read_by_content

# One list, the readers': what `rag ingest` reads, an upload accepts (plus zips of those). A web
# server's page names (news.php, view.aspx) and names without a suffix are read by their content.
DOCUMENT_SUFFIXES = SUPPORTED_SUFFIXES
UPLOAD_SUFFIXES = DOCUMENT_SUFFIXES | WEB_PAGE_SUFFIXES | {".zip"}
MAX_ZIP_MEMBERS = 5000
_COPY_CHUNK = 1 << 20


def is_release_name(path: Path | PurePosixPath) -> bool:
    """A name the readers take: a format's suffix, a web server's page name or no suffix (a wget
    mirror's "news.php?id=7", "statement"); not a stylesheet, script, image or font."""
    return file_suffix(Path(path.name)) in DOCUMENT_SUFFIXES or read_by_content(Path(path.name))


@dataclass(frozen=True)
class Rejected:
    """An upload (or zip member) refused before ingestion; shown in the result table as failed."""

    path: str
    problem: str
    status: str = "failed"

    @property
    def errors(self) -> list[str]:
        return [f"{self.path}: {self.problem}"]


@dataclass
class StagedUpload:
    root: Path  # data_dir/uploads
    files: list[Path] = field(default_factory=list)  # ready for the pipeline
    rejected: list[Rejected] = field(default_factory=list)  # refused before ingestion, with why
    labels: dict[str, str] = field(default_factory=dict)  # staged path -> what the user called it

    def add(self, path: Path, label: str) -> None:
        if str(path) not in self.labels:
            self.files.append(path)
            self.labels[str(path)] = label

    def label(self, path: str) -> str:
        return self.labels.get(str(path), Path(path).name)


def stage_uploads(paths: list[Path | str], uploads_root: Path, max_bytes: int) -> StagedUpload:
    """Copy accepted uploads (and the members of uploaded zips) into content-addressed folders."""
    root = Path(uploads_root)
    staged = StagedUpload(root)
    for raw in paths:
        path = Path(raw)
        name = path.name
        suffix = file_suffix(path)
        if not path.is_file():
            staged.rejected.append(_reject(name, "the uploaded file is missing"))
        elif suffix != ".zip" and not is_release_name(path):
            staged.rejected.append(
                _reject(name, f"type {suffix} is not accepted; use one of {', '.join(sorted(UPLOAD_SUFFIXES))}")
            )
        elif path.stat().st_size > max_bytes:
            staged.rejected.append(_reject(name, f"{_mb(path.stat().st_size)} is over the {_mb(max_bytes)} limit"))
        elif suffix == ".zip":
            _extract_zip(path, root / _digest(path) / path.stem, max_bytes, staged)
        else:
            target = root / _digest(path) / name
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                shutil.copyfile(path, partial)
                partial.replace(target)  # a crash mid-copy never leaves a truncated release behind
            staged.add(target, name)
    return staged


def _extract_zip(archive: Path, dest: Path, max_bytes: int, staged: StagedUpload) -> None:
    label = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        staged.rejected.append(_reject(label, f"not a readable zip archive ({error})"))
        return
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            staged.rejected.append(_reject(label, f"{len(members)} files, more than the {MAX_ZIP_MEMBERS} allowed"))
            return
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            staged.rejected.append(_reject(label, f"unpacks to {_mb(declared)}, over the {_mb(max_bytes)} limit"))
            return
        budget = max_bytes
        for member in members:
            where = f"{label}/{member.filename}"
            relative = _safe_member_path(member)
            if relative is None:
                staged.rejected.append(_reject(where, "unsafe path or link inside the zip; skipped"))
                continue
            if relative.name.startswith(".") or relative.parts[0] == "__MACOSX":
                continue  # OS metadata, not a release
            if not is_release_name(relative):
                staged.rejected.append(_reject(where, f"type {file_suffix(Path(relative.name))} is not accepted; skipped"))
                continue
            target = dest.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            try:
                budget -= _copy_limited(zf, member, partial, budget)
            except _TooLarge:
                partial.unlink(missing_ok=True)
                staged.rejected.append(_reject(where, f"the archive unpacks to more than {_mb(max_bytes)}; stopped"))
                return
            except (zipfile.BadZipFile, OSError, RuntimeError) as error:  # RuntimeError: encrypted member
                partial.unlink(missing_ok=True)
                staged.rejected.append(_reject(where, f"could not be extracted ({error})"))
                continue
            partial.replace(target)
            staged.add(target, where)


class _TooLarge(Exception):
    pass


def _copy_limited(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int) -> int:
    written = 0
    with zf.open(member) as source, open(target, "wb") as sink:
        while block := source.read(_COPY_CHUNK):
            written += len(block)
            if written > budget:
                raise _TooLarge
            sink.write(block)
    return written


def _safe_member_path(member: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's path if it stays inside the extraction folder and is a regular file, else None."""
    mode = member.external_attr >> 16
    if mode and (stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or mode & 0o170000 == 0)):
        return None
    name = member.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(p in ("..", "") for p in path.parts) or ":" in path.parts[0]:
        return None
    return path


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_COPY_CHUNK):
            sha.update(block)
    return sha.hexdigest()[:16]


def _reject(name: str, problem: str) -> Rejected:
    return Rejected(name, problem)


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):.1f} MB"
