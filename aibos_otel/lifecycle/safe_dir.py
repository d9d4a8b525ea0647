"""The files a lifecycle command may touch: regular files directly inside a backup directory.

``aibos-otel retention enforce`` deletes and moves files and ``aibos-otel erase`` rewrites them,
often as root, in a directory other users and services write to. So both go through this module,
which holds to four rules:

* **Only regular files, never through a symbolic link.** Every file is looked at with
  ``lstat`` and opened with ``O_NOFOLLOW``; a link, a directory or a FIFO named like a backup file
  is reported and skipped. A link would otherwise make a command delete, overwrite or "erase" a
  file outside the directory, and report success while the real file keeps its records.
* **Only directly inside the directory and its real subdirectories.** A subdirectory such as
  ``archive/`` is opened with ``O_DIRECTORY | O_NOFOLLOW`` and every later step names files
  relative to the opened descriptors, so swapping ``archive`` for a link halfway through changes
  nothing. A symlinked ``archive`` is reported and skipped. The backup directory itself is what
  the operator named, so a link there is followed, once, when it is opened.
* **Never overwrite.** A move is ``link`` then ``unlink``, and ``link`` fails when the target
  name exists; the caller reports and skips that file.
* **Only where the file backup marked the directory as its own** (:func:`is_marked`; callers
  offer ``--force`` for a backup written before the marker existed).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aibos_otel.sdk.file_backup import MARKER_NAME

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK: a FIFO swapped in after the lstat must not hang the open (no effect on files).
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC

Identity = tuple[int, int]
"""(device, inode) of a file: what stays the same while its name may change."""


class NotABackupError(ValueError):
    """The directory does not carry the file backup's marker (and ``--force`` was not given)."""


def is_marked(directory: str | os.PathLike[str]) -> bool:
    """True when ``directory`` holds the file backup's marker, a regular file (not a link)."""
    try:
        info = os.lstat(Path(directory) / MARKER_NAME)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode)


def require_marker(directory: str | os.PathLike[str], *, force: bool) -> None:
    """Raise :class:`NotABackupError` unless ``directory`` is marked or ``force`` is set."""
    if not force and not is_marked(directory):
        raise NotABackupError(
            f"{directory} is not marked as an aibos-otel file backup (no {MARKER_NAME} in it); "
            "check the path, or use --force for a backup written before the marker existed"
        )


@dataclass(frozen=True)
class Folder:
    """An opened directory: its path (for messages) and its descriptor (for every operation)."""

    path: Path
    fd: int


@dataclass(frozen=True)
class Entry:
    """A regular file directly inside a :class:`Folder`, as ``lstat`` saw it when listed."""

    folder: Folder
    name: str
    identity: Identity
    mtime: float
    links: int

    @property
    def path(self) -> Path:
        return self.folder.path / self.name


@dataclass(frozen=True)
class Refusal:
    """Something named like a backup file (or ``archive``) that is not touched, and why."""

    path: Path
    reason: str


def _why_not(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link, not followed"
    if stat.S_ISDIR(mode):
        return "a directory, not a backup file"
    return "not a regular file"


class SafeDir:
    """A backup directory opened once, with the real subdirectories asked for.

    Use as a context manager: the descriptors are closed on exit.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root)
        self.root = Folder(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC))
        self._subdirs: dict[str, Folder] = {}

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every descriptor this object opened."""
        for folder in (*self._subdirs.values(), self.root):
            with contextlib.suppress(OSError):
                os.close(folder.fd)
        self._subdirs.clear()

    def subdir(self, name: str, *, create: bool = False) -> Folder | Refusal | None:
        """The real directory ``name`` inside the root (None when absent and not ``create``);
        a link or a file in its place is a :class:`Refusal`."""
        if name in self._subdirs:
            return self._subdirs[name]
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=self.root.fd)
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=self.root.fd)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP for a link, ENOTDIR for a file: say which
            try:
                mode = os.lstat(name, dir_fd=self.root.fd).st_mode
            except OSError:
                return Refusal(self.root.path / name, exc.strerror or str(exc))
            return Refusal(self.root.path / name, _why_not(mode))
        folder = Folder(self.root.path / name, fd)
        self._subdirs[name] = folder
        return folder

    def files(self, folder: Folder, wanted: Callable[[str], bool]) -> tuple[list[Entry], list[Refusal]]:
        """The regular files of ``folder`` whose names are ``wanted``, sorted by name, and the
        ``wanted`` names that are something else. A name gone meanwhile is left out."""
        entries: list[Entry] = []
        refused: list[Refusal] = []
        with os.scandir(folder.fd) as listing:
            names = sorted(item.name for item in listing if wanted(item.name))
        for name in names:
            try:
                info = os.lstat(name, dir_fd=folder.fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                refused.append(Refusal(folder.path / name, exc.strerror or str(exc)))
                continue
            if not stat.S_ISREG(info.st_mode):
                refused.append(Refusal(folder.path / name, _why_not(info.st_mode)))
                continue
            entries.append(Entry(folder, name, (info.st_dev, info.st_ino), info.st_mtime, info.st_nlink))
        return entries, refused


def identity_of(folder: Folder, name: str) -> Identity | None:
    """What ``name`` in ``folder`` holds now (without following a link); None when absent."""
    try:
        info = os.lstat(name, dir_fd=folder.fd)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


def _still_there(entry: Entry) -> None:
    if identity_of(entry.folder, entry.name) != entry.identity:
        raise FileNotFoundError(entry.path)  # moved, pruned or replaced since it was listed


@contextlib.contextmanager
def open_read(entry: Entry) -> Iterator[int]:
    """A read descriptor on the very file listed; FileNotFoundError when the name now holds
    something else (the caller looks again), OSError (ELOOP) when it became a link."""
    fd = os.open(entry.name, _READ_FLAGS, dir_fd=entry.folder.fd)
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != entry.identity or not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError(entry.path)
        os.set_blocking(fd, True)
        yield fd
    finally:
        os.close(fd)


def create_new(folder: Folder, name: str, mode: int = 0o600) -> int:
    """A write descriptor on a new file ``name``; fails if anything (a link too) has that name."""
    return os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=folder.fd)


def remove(entry: Entry) -> None:
    """Delete the listed file; FileNotFoundError when it is gone or was replaced meanwhile."""
    _still_there(entry)
    os.unlink(entry.name, dir_fd=entry.folder.fd)  # unlink never follows a link


def remove_name(folder: Folder, name: str) -> None:
    """Delete ``name`` in ``folder`` if it is there (a temporary file of our own)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder.fd)


def move_into(entry: Entry, target: Folder) -> Path:
    """Move the listed file into ``target`` under the same name, never replacing a file there.

    FileExistsError when ``target`` already has the name; FileNotFoundError when the file is
    gone or was replaced meanwhile. ``link`` + ``unlink`` rather than ``rename``: a rename would
    silently replace what is at the target.
    """
    _still_there(entry)
    os.link(entry.name, entry.name, src_dir_fd=entry.folder.fd, dst_dir_fd=target.fd, follow_symlinks=False)
    os.unlink(entry.name, dir_fd=entry.folder.fd)
    return target.path / entry.name


def replace_with(entry: Entry, temporary: str) -> None:
    """Rename ``temporary`` (in the entry's folder) over the listed file, if it is still the
    one listed; FileNotFoundError otherwise (the temporary is then the caller's to remove)."""
    _still_there(entry)
    os.replace(temporary, entry.name, src_dir_fd=entry.folder.fd, dst_dir_fd=entry.folder.fd)


def sync(folder: Folder) -> None:
    """Make a rename in ``folder`` durable, where the platform allows it."""
    with contextlib.suppress(OSError):
        os.fsync(folder.fd)
