"""The official portal records as a first-class source beside the guides (a deployment of corpus/ plus
240 real records, every code a guide carries among them): one procedure per code, answers from the
guide with the record cited as the legal source, record-only procedures answered from their records,
sync and staleness, and the staff catalogue over both."""

import json
import shutil
import subprocess
import time
from dataclasses import replace

import pytest

from assistant.pipeline.reorder import asked_level_first
from tests.conftest import DVC_DIR, EMBEDDING_CACHE, ROOT, assistant_command, make_assistant


def test_a_guide_and_its_record_are_one_procedure(dvc_assistant):
    hits = dvc_assistant.search("làm giấy khai sinh cho con mới sinh cần giấy tờ gì", k=10).hits
    assert hits[0].doc_id == "khai-sinh"
    assert "1.001193" not in [h.doc_id for h in hits]  # the record stands behind its guide
    codes = [h.code for h in hits if h.code]
    assert len(codes) == len(set(codes)), codes


def test_a_guide_answer_quotes_what_its_official_record_adds(dvc_assistant):
    answer = dvc_assistant.ask("đăng ký khai sinh cho con thì cần những giấy tờ gì")
    assert answer.status == "answered" and answer.doc_id == "khai-sinh"
    cited = {c.doc_id for c in answer.citations}
    assert {"khai-sinh", "1.001193"} <= cited
    record = next(c for c in answer.citations if c.doc_id == "1.001193")
    assert record.url.startswith("https://dichvucong.gov.vn/") and record.section == "Thành phần hồ sơ"
    # Under the guide's plain list, the record's own lines on the documents that say more than the guide
    # does (how many copies of each paper: "Số lượng"), each citing the record; not those the guide already
    # says in its words (the birth certificate, or a witness's statement without one).
    official = answer.text.split("Theo văn bản gốc trên Cổng Dịch vụ công (mã 1.001193):\n", 1)[1]
    quoted = [line for line in official.split("\n\n", 1)[0].splitlines() if not line.startswith("(Còn tiếp")]
    markers = {f"[{c.n}]" for c in answer.citations if c.doc_id == "1.001193"}
    assert quoted and all(line[line.rindex("[") :] in markers for line in quoted), quoted
    assert "Số lượng:" in official
    assert "Giấy chứng sinh; trường hợp không có Giấy chứng sinh" not in official


def test_a_record_only_procedure_is_answered_from_its_record(dvc_assistant):
    answer = dvc_assistant.ask("thôi làm hòa giải viên ở phường thì cần giấy tờ gì")
    assert answer.status == "answered" and answer.doc_id == "2.000930", (answer.status, answer.doc_id)
    assert answer.citations[0].doc_id == "2.000930"
    assert any(c.section == "Thành phần hồ sơ" for c in answer.citations)


def test_a_record_answer_on_time_adds_the_deadlines_its_steps_state(dvc_assistant):
    # The portal's card says 5 working days (the chairman's decision); the 10 days the Front's committee
    # has before it are written only in the record's steps, and a citizen waits for both.
    answer = dvc_assistant.ask("thoi lam hoa giai vien o phuong thi mat bao lau")
    assert answer.status == "answered" and answer.doc_id == "2.000930", (answer.status, answer.doc_id)
    steps = answer.text.split("Theo các bước thực hiện:\n", 1)[1].split("\n\n", 1)[0]
    assert "Trong thời hạn 10 ngày" in steps, steps
    sections = {f"[{c.n}]": c.section for c in answer.citations}
    assert {sections[line[line.rindex("[") :]] for line in steps.splitlines()} == {"Trình tự thực hiện"}


def test_a_law_firm_asking_about_its_own_registration_is_answered_where_a_record_holds_it(
    corpus_assistant, dvc_assistant
):
    # No guide is written for a profession's own business, so the shipped corpus declines it; the
    # portal's record for a foreign law firm's branch names the firm in its title and answers it.
    question = "công ty luật nước ngoài của chúng tôi mở chi nhánh ở TP.HCM, đăng ký hoạt động cần giấy tờ gì"
    declined = corpus_assistant.ask(question)
    assert (declined.status, declined.reason) == ("refused", "not_in_knowledge_base")
    answer = dvc_assistant.ask(question)
    assert answer.status == "answered" and answer.doc_id == "1.002181", (answer.status, answer.doc_id)


def test_a_procedure_listed_at_two_levels_is_answered_at_the_level_the_question_names(dvc_assistant):
    # The portal lists reporting a lost passport for wards (the guide's code, 1.010386) and, title for
    # title but "cấp tỉnh", for the province (1.001445): the ward's comes first unless the question names
    # an authority above the ward, whichever way the ranker tossed, and either answer offers the other.
    answer = dvc_assistant.ask("làm mất hộ chiếu thì đi trình báo ở đâu, cần mang giấy gì")
    assert answer.status == "answered" and answer.doc_id == "trinh-bao-mat-ho-chieu", answer.doc_id
    assert answer.related and answer.related[0].doc_id == "1.001445", [o.doc_id for o in answer.related]
    snapshot = dvc_assistant.snapshot()
    for question, first in (
        ("mất hộ chiếu phổ thông thì trình báo ở đâu", "trinh-bao-mat-ho-chieu"),
        ("mất hộ chiếu phổ thông thì trình báo ở công an tỉnh thế nào", "1.001445"),
        ("mat ho chieu pho thong, toi muon trinh bao len Bo Cong an", "1.001445"),
        ("mất hộ chiếu trong bộ hồ sơ xây dựng thì trình báo ở đâu", "trinh-bao-mat-ho-chieu"),
    ):
        asked = dvc_assistant.understand(question, snapshot)
        found = {c.doc_id: c for c in dvc_assistant.search(question, k=10).candidates}
        province, ward = found["1.001445"], found["trinh-bao-mat-ho-chieu"]
        for tossed in ([province, ward], [ward, province]):  # as if the ranker had put either first
            ranked = [replace(tossed[0], score=2.0), replace(tossed[1], score=1.0)]
            assert asked_level_first(asked, snapshot, ranked)[0].doc_id == first, question


def test_twins_whose_titles_differ_by_a_remark_in_brackets_are_one_procedure_at_two_levels(tmp_path):
    # The portal's ward-level procedure for denunciations of police officers (1.004327) carries a remark
    # in brackets ("phải là cán bộ thuộc biên chế…") that its province-level twin (1.003482) lacks: still
    # one procedure at two levels, so a question about the province's police gets the province's.
    if not DVC_DIR.is_dir():
        pytest.skip("../shared/data/dvc-procedures is not present")
    records = tmp_path / "records"
    records.mkdir()
    for code in ("1.003482", "1.004327"):
        shutil.copy(DVC_DIR / f"{code}.md", records)
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([records], progress=False)
    snapshot = assistant.snapshot()
    assert snapshot.level_twins == {"1.003482": ["1.004327"], "1.004327": ["1.003482"]}
    found = {c.doc_id: c for c in assistant.search("tố cáo cán bộ công an", k=5).candidates}
    for question, first in (
        ("tố cáo một cán bộ công an tỉnh sai phạm thì bao lâu được giải quyết", "1.003482"),
        ("to cao can bo thuoc tham quyen giai quyet cua tinh thi nop o dau", "1.003482"),
        ("tố cáo cán bộ công an phường sai phạm thì nộp đơn ở đâu", "1.004327"),
    ):
        asked = assistant.understand(question, snapshot)
        for tossed in (["1.003482", "1.004327"], ["1.004327", "1.003482"]):
            ranked = [replace(found[tossed[0]], score=2.0), replace(found[tossed[1]], score=1.0)]
            assert asked_level_first(asked, snapshot, ranked)[0].doc_id == first, question


def test_sibling_records_are_told_apart_by_the_act_the_question_names(dvc_assistant):
    # Three records share one permit and differ by the act: issue (1.000987), re-issue (1.000943), and
    # amend or renew (1.000970); the card of a legal adviser is issued again (1.000390) or withdrawn
    # (1.000404). Each question gets the record of the act it names, typed with or without diacritics.
    for question, code in (
        ("xin giấy phép hoạt động dự báo khí tượng thủy văn lần đầu cần hồ sơ gì", "1.000987"),
        ("giay phep du bao khi tuong thuy van sap het han, xin gia han o dau", "1.000970"),
        ("làm mất giấy phép dự báo, cảnh báo khí tượng thủy văn thì xin cấp lại thế nào", "1.000943"),
        ("thu hoi the tu van vien phap luat trong truong hop nao", "1.000404"),
    ):
        answer = dvc_assistant.ask(question)
        assert answer.status == "answered" and answer.doc_id == code, (question, answer.doc_id)


def test_options_never_list_one_procedure_twice(dvc_assistant):
    answer = dvc_assistant.ask("khai sinh")
    assert answer.status == "clarify"
    codes = [dvc_assistant.snapshot().doc_meta(o.doc_id).get("code") for o in answer.options]
    assert len(codes) == len(set(codes)) and answer.options[0].doc_id == "khai-sinh"


def test_the_catalogue_has_one_row_per_procedure_and_filters_by_source(dvc_assistant):
    rows = dvc_assistant.list_documents()
    guided = {code for r in rows if r["has_guide"] for code in r["code"].split(", ")}
    record_codes = [r["code"] for r in rows if r["origin"] == "record"]
    assert len(record_codes) == len(set(record_codes)) and not guided & set(record_codes)
    khai_sinh = next(r for r in rows if r["doc_id"] == "khai-sinh")
    assert khai_sinh["has_guide"] and khai_sinh["records"] == ["1.001193"]
    only_records = dvc_assistant.list_documents({"source": "record"})
    assert only_records and all(r["origin"] == "record" and not r["has_guide"] for r in only_records)
    assert "2.000930" in {r["doc_id"] for r in only_records}
    record = next(r for r in only_records if r["doc_id"] == "2.000930")
    assert record["agency"] or record["processing_time"]  # read from the record's own card
    whole = dvc_assistant.document("khai-sinh")
    assert whole["official"][0]["code"] == "1.001193" and whole["official"][0]["sections"]


def _sync(folder, index, *extra):
    env = {"ASSISTANT_EMBEDDING_CACHE": str(EMBEDDING_CACHE), "PATH": "/usr/bin:/bin"}
    command = assistant_command("records", "sync", str(folder), "--index", str(index), "--json")
    done = subprocess.run([*command, *extra], capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_records_sync_reports_changes_and_stale_guides(corpus_assistant, tmp_path):
    if not DVC_DIR.is_dir():
        pytest.skip("../shared/data/dvc-procedures is not present")
    index = tmp_path / "index"
    shutil.copytree(corpus_assistant.settings.index_dir, index)
    shared = DVC_DIR
    folder = tmp_path / "records"
    folder.mkdir()
    for code in ("1.001193", "2.000930", "1.000419"):  # khai sinh (a guide), an uncovered one, a third
        shutil.copy(shared / f"{code}.md", folder / f"{code}.md")
    first = _sync(folder, index)
    assert sorted(r["code"] for r in first["new"]) == ["1.000419", "1.001193", "2.000930"]
    assert not first["stale"] and first["ingest"]["indexed"]
    assert "2.000930" in {r["code"] for r in first["uncovered"]}
    # A decree changes the khai sinh fee; the guide was checked on 2026-11-28.
    record = folder / "1.001193.md"
    record.write_text(
        record.read_text(encoding="utf-8").replace("Miễn phí", "50.000 đồng", 1), encoding="utf-8"
    )
    (folder / "1.000419.md").unlink()
    shutil.copy(shared / "1.000045.md", folder / "1.000045.md")
    started = time.perf_counter()
    report = _sync(folder, index, "--dry-run")
    assert time.perf_counter() - started < 30  # a process start included; the sync itself is in the JSON
    assert set(report) >= {"new", "changed", "removed", "stale", "uncovered"}
    assert [r["code"] for r in report["changed"]] == ["1.001193"]
    assert [r["code"] for r in report["new"]] == ["1.000045"] and len(report["removed"]) == 1
    assert {"code": "1.001193", "guide": "khai-sinh"}.items() <= report["stale"][0].items()
    assert report["ingest"] is None and report["seconds"] < 10
    applied = _sync(folder, index)
    assert (
        sorted(applied["ingest"]["indexed"]) == ["1.000045.md", "1.001193.md"]
        and applied["ingest"]["removed"]
    )
    again = _sync(folder, index)  # nothing new, but the guide stays stale until it is checked again
    assert not again["changed"] and again["ingest"] is None and again["stale"]
