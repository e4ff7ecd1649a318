"""Extractive answers on the shipped corpus: grounded, cited, clarified and refused as a citizen expects."""

import json
import shutil
import time
from dataclasses import replace

import numpy as np
import pytest

from assistant.conversation import SessionStore
from assistant.errors import QuestionError
from assistant.lexicon import refused_variants
from assistant.pipeline.answers import MARKER, Option, pick_option
from assistant.pipeline.policy import paper_names
from assistant.pipeline.procedures import Candidate, asked_variants
from assistant.pipeline.question import understand
from assistant.pipeline.reorder import asked_variant_first, other_kind, same_kind_first
from assistant.pipeline.reorder import settled as settled_order
from assistant.text import fold, has_phrase
from tests.conftest import DVC_DIR, ROOT, make_assistant


def load(name: str) -> list[dict]:
    lines = (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def faq_answers(corpus_assistant):
    rows = load("faq_procedures.jsonl") + load("faq_reports.jsonl")
    return [(row, corpus_assistant.ask(row["question"])) for row in rows]


def test_faq_answer_quality_meets_measured_thresholds(faq_answers):
    points = found = clarified = 0
    refused_oos = refused_in_scope = oos = 0
    for row, answer in faq_answers:
        out_of_scope = row["aspect"] == "out_of_scope"
        oos += out_of_scope
        if answer.status == "refused":
            refused_oos += out_of_scope
            refused_in_scope += not out_of_scope
        if out_of_scope:
            continue
        clarified += answer.status == "clarify"
        for point in row["answer_points"]:
            points += 1
            found += point in answer.text
    in_scope = len(faq_answers) - oos
    # Thresholds are the figures measured on this corpus (eval/README.md) minus a small margin; false
    # refusals are held to the standard of the routing issue (at most 3% of in-scope questions).
    assert found / points >= 0.84, found / points
    assert clarified / in_scope <= 0.05, clarified / in_scope
    assert refused_in_scope / in_scope <= 0.03, refused_in_scope / in_scope
    assert refused_oos / oos >= 0.90, refused_oos / oos


def test_every_citation_marker_points_at_a_listed_passage(faq_answers):
    for row, answer in faq_answers:
        numbers = {int(n) for n in MARKER.findall(answer.text)}
        listed = {c.n for c in answer.citations}
        assert numbers <= listed, row["id"]
        assert listed <= numbers, f"{row['id']}: a listed passage is never cited"
        if answer.status == "answered":
            assert numbers, f"{row['id']}: answer without citations"


def test_answer_lines_are_quoted_not_rewritten(faq_answers):
    """Each cited line, without its marker and list bullet, stands word for word in its passage (a line
    the passage wraps is quoted joined)."""
    for row, answer in faq_answers[:200]:
        quotes = {c.n: " ".join(c.quote.split()) for c in answer.citations}
        for line in answer.text.splitlines():
            cited = [int(n) for n in MARKER.findall(line)]
            if not cited or line.startswith("("):  # our own pointer to the rest of a long list
                continue
            body = " ".join(MARKER.sub("", line).strip().lstrip("-*• ").split())
            assert any(body in quotes[n] for n in cited), f"{row['id']}: '{body[:80]}'"


def test_citations_carry_what_a_reader_needs(corpus_assistant):
    answer = corpus_assistant.ask("thuê trọ thì đăng ký tạm trú lệ phí bao nhiêu")
    assert answer.status == "answered" and answer.doc_id == "dang-ky-tam-tru"
    assert "7.000 đồng" in answer.text
    first = answer.citations[0]
    assert first.doc_id == "dang-ky-tam-tru" and first.source == "procedures/dang-ky-tam-tru.md"
    assert first.url.startswith("https://dichvucong.gov.vn/") and first.quote and first.section


def test_overview_question_gets_a_card(corpus_assistant):
    answer = corpus_assistant.ask("cho mình hỏi về thủ tục tách hộ")
    assert answer.aspect == "general" and answer.doc_id == "tach-ho"
    for label in ("Phí, lệ phí", "Thời hạn giải quyết", "Cơ quan, nơi nộp", "Nộp trực tuyến", "Hồ sơ gồm"):
        assert label in answer.text


def test_report_figure_question_quotes_the_figure(corpus_assistant):
    answer = corpus_assistant.ask("nam 2023 co bao nhieu ho so tre han")
    assert answer.doc_id == "cai-cach-hanh-chinh-tphcm-2023"
    assert "37.000" in answer.text


def test_a_report_sentence_in_other_words_than_the_question_is_found(corpus_assistant):
    # Asked "trễ hạn", the report writes "quá hạn": the rate sits only in that sentence.
    answer = corpus_assistant.ask("Năm 2023 thành phố có bao nhiêu hồ sơ trễ hạn?")
    assert "Có hơn 37.000 hồ sơ bị giải quyết quá hạn, tương ứng 0,16%." in answer.text


def test_a_list_of_statements_keeps_only_the_items_asked_about(corpus_assistant):
    # "Những tồn tại" lists five statements; only the one on late dossiers answers this question.
    answer = corpus_assistant.ask("nam 2023 con bao nhieu ho so bi tre han")
    assert "vẫn còn hơn 37.000 hồ sơ bị trễ hạn trong năm." in answer.text
    assert "trăm hoa đua nở" not in answer.text and "2-3 hệ thống" not in answer.text


def test_a_count_question_goes_to_the_report_not_a_procedure(corpus_assistant):
    answer = corpus_assistant.ask("tphcm co bao nhieu xa")
    assert answer.status == "answered" and answer.doc_id == "chinh-quyen-dia-phuong-hai-cap-2025"
    assert "54 xã;" in answer.text
    # A fee question with "bao nhiêu" is still a procedure's.
    assert corpus_assistant.ask("lam ho chieu het bao nhieu tien").doc_id == "cap-ho-chieu-pho-thong"


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("TP.HCM có mấy xã, phường", True),
        ("tphcm co may xa", True),
        ("phường Đa Kao tiếp công dân vào thứ mấy", False),  # which weekday, not how many
        ("ubnd phuong lam viec den may gio", False),
        ("đăng ký xe máy mới ở đâu", False),  # "máy", a machine
        ("dang ky xe may lan dau", False),
    ],
)
def test_only_a_question_asking_how_many_is_sent_to_a_report(question, count):
    assert understand(question, lambda text: text).wants_figure is count


def test_a_near_tie_is_asked_back_but_a_clear_lead_is_answered(corpus_assistant):
    # "đăng ký xe" scores sang tên and lần đầu within 3% of each other: ask.
    assert corpus_assistant.ask("đăng ký xe").status == "clarify"
    # "nhận cha con" names its procedure; khai sinh kết hợp nhận cha con trails at 0.94: answer it.
    answer = corpus_assistant.ask("nhan cha con co mat phi khong")
    assert answer.status == "answered" and answer.doc_id == "nhan-cha-me-con"


def test_a_bare_name_offers_every_procedure_it_names(corpus_assistant):
    # The ordinary procedure comes first: it used to rank sixth, below four variants and "lưu động".
    answer = corpus_assistant.ask("khai sinh", session_id="bare-name")
    assert answer.status == "clarify" and answer.reason == "shared_name"
    ordinary = answer.options[0]
    assert ordinary.doc_id == "khai-sinh"
    assert all("khai sinh" in o.title for o in answer.options)
    picked = corpus_assistant.ask(str(ordinary.n), session_id="bare-name")
    assert picked.doc_id == "khai-sinh" and "Đăng ký khai sinh cho trẻ mới sinh" in picked.text


@pytest.mark.parametrize("question", ["hộ kinh doanh", "ho kinh doanh"])
def test_a_name_shared_by_several_procedures_is_asked_back(corpus_assistant, question):
    # "hộ kinh doanh" alone used to be answered with closing the business, the best score by a
    # clear lead; registering, changing, suspending and closing one all carry the name.
    answer = corpus_assistant.ask(question, session_id=f"shared-{question}")
    assert answer.status == "clarify"
    offered = {o.doc_id for o in answer.options}
    assert {"dang-ky-thanh-lap-ho-kinh-doanh", "cham-dut-hoat-dong-ho-kinh-doanh"} <= offered
    register = next(o for o in answer.options if o.doc_id == "dang-ky-thanh-lap-ho-kinh-doanh")
    picked = corpus_assistant.ask(str(register.n), session_id=f"shared-{question}")
    assert picked.status == "answered" and picked.doc_id == "dang-ky-thanh-lap-ho-kinh-doanh"
    # Saying what is wanted is answered directly.
    for wanted in ("mở hộ kinh doanh mất phí bao nhiêu", "đăng ký hộ kinh doanh lệ phí bao nhiêu"):
        fee = corpus_assistant.ask(wanted)
        assert fee.status == "answered" and fee.doc_id == "dang-ky-thanh-lap-ho-kinh-doanh", wanted


def test_out_of_scope_is_refused_with_the_hotline(corpus_assistant):
    answer = corpus_assistant.ask("cách làm bánh flan không bị rỗ")
    assert answer.status == "refused" and "1022" in answer.text and not answer.citations


@pytest.mark.parametrize("dialogue", load("dialogues.jsonl"), ids=lambda d: d["id"])
def test_dialogues_turn_by_turn(corpus_assistant, dialogue):
    session = f"test-{dialogue['id']}"
    previous = None
    for turn in dialogue["turns"]:
        answer = corpus_assistant.ask(turn["user"], session_id=session)
        assert answer.status == turn["expect_status"], (turn["user"], answer.text)
        if "expect_doc" in turn:
            assert answer.doc_id in turn["expect_doc"], (turn["user"], answer.doc_id)
        for text in turn.get("expect_text", []):
            assert text in answer.text, (turn["user"], answer.text)
        if "expect_option" in turn:
            assert answer.doc_id == previous.options[turn["expect_option"] - 1].doc_id
        previous = answer


def test_without_a_session_every_question_stands_alone(corpus_assistant):
    corpus_assistant.ask("làm hộ chiếu cần giấy tờ gì")
    assert corpus_assistant.ask("còn lệ phí thì sao?").doc_id != "cap-ho-chieu-pho-thong"


@pytest.mark.parametrize("bad", ["", "   \n", None, 42])
def test_empty_or_non_text_questions_are_rejected(corpus_assistant, bad):
    with pytest.raises(QuestionError):
        corpus_assistant.ask(bad)


def test_overlong_question_is_rejected(corpus_assistant):
    with pytest.raises(QuestionError, match="dài quá"):
        corpus_assistant.ask("khai sinh " * 1000)


def test_streaming_yields_the_text_then_the_answer(corpus_assistant):
    parts = list(corpus_assistant.ask_stream("đăng ký kết hôn cần giấy tờ gì"))
    answer = parts[-1]
    assert "".join(parts[:-1]) == answer.text and len(parts) > 2


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("lam giay khai sinh can giay to gi", "documents"),
        ("lệ phí cấp hộ chiếu bao nhiêu", "fee"),
        ("mat bao lau moi co ket qua", "time"),
        ("nộp hồ sơ ở đâu", "where"),
        ("co lam online duoc khong", "online"),
        ("căn cứ pháp lý là gì", "legal_basis"),
        ("ai được nhận con nuôi", "eligibility"),
        ("muon tham gia to bao ve an ninh o phuong thi phai bao nhieu tuoi", "eligibility"),
        ("trình tự thực hiện ra sao", "steps"),
        ("thủ tục tách hộ", "general"),
        ("khai báo tạm vắng xong thì được nhận giấy gì", "result"),
        ("thu tuc 1.001939 ket qua la gi", "result"),
        ("nhận cha con ở phường xong được cấp giấy gì", "result"),
        ("to hop tac muon dang ky xin ho tro thi gui ho so ve dau", "where"),
        ("trường hợp nào thì được đấu nối tạm vào quốc lộ", "eligibility"),
        # words that name the procedure, not what is asked about it
        ("công ty đổi địa chỉ trụ sở thì cần giấy tờ gì", "documents"),
        ("ông tôi là thương binh, nhờ trợ giúp pháp lý thì cần giấy gì", "documents"),
        ("tinh lai tien su dung dat theo nghi dinh 50 thi mat bao lau", "time"),
    ],
)
def test_aspect_detection_with_and_without_accents(question, aspect):
    assert understand(question, restore=str).aspect == aspect


@pytest.mark.parametrize(
    ("question", "kept", "left_out"),
    [
        # where the citizen lives and who the spouse is say nothing of the procedure
        ("chồng tôi người Úc vừa mất ở Sài Gòn, làm khai tử ở đâu", {"chong", "khai"}, {"uc", "sai", "gon"}),
        ("nha o Go Vap, quoc tich Canada, xin tam tru", {"tam", "tru"}, {"go", "vap", "canada"}),
        # a country's name that is also an everyday word is a place only after "người", "ở", "bên"...
        ("người lao động ở Q.7 xin lý lịch tư pháp", {"lao", "dong", "lich", "phap"}, {"q"}),
    ],
)
def test_places_and_nationalities_are_not_what_a_question_is_about(question, kept, left_out):
    asked = understand(question, restore=str)
    for topic in (set(asked.topic), {fold(w).lower() for w in asked.topic_text.split()}):
        assert kept <= topic and not left_out & topic, topic


@pytest.mark.parametrize(
    ("question", "variants"),
    [
        ("Em lấy chồng Hàn, đăng ký kết hôn cần giấy gì", {"foreign"}),
        ("be sinh ben Nhat, ve VN lam khai sinh", {"foreign"}),
        ("quoc tich Uc mat o Sai Gon, khai tu o dau", {"foreign"}),  # "Sài Gòn" is not "sai" (wrong)
        ("nhà ở Gò Vấp, đăng ký kết hôn ở phường nào", set()),
        ("xin lý lịch tư pháp, người lao động ở Long An", set()),  # "người lao động" is not "người Lào"
        ("giay khai sinh ghi sai ten", {"correct"}),
        ("được gia đình cũ nhờ làm người giám sát việc giám hộ", {"supervise"}),  # no one settled abroad
        # saying everyone is Vietnamese asks for the plain procedure, whatever else the words hold
        ("cả bố và mẹ đều là người Việt, khai sinh cho con cần gì", set()),
        ("ket hon khong co yeu to nuoc ngoai lam o dau", set()),
        ("deu la nguoi Viet nhung chong dinh cu o My, dang ky ket hon", {"foreign"}),
        # the parents' marriage in a birth question asks for nothing to be registered again
        ("vo chong toi da dang ky ket hon, be moi sinh, khai sinh o dau", set()),
        ("da dang ky ket hon nhung mat giay, so goc khong con", {"again", "reissue"}),
    ],
)
def test_a_country_or_a_nationality_asks_for_the_foreign_element(question, variants):
    assert asked_variants(understand(question, restore=str)) == variants


@pytest.mark.parametrize(
    ("group", "question", "asked"),
    [
        (
            "profession",
            "đang tập sự công chứng ở Đà Nẵng, chuyển vào Sài Gòn thì chuyển nơi tập sự thế nào",
            True,
        ),
        ("profession", "van phong cong chung cua toi doi tru so thi bao so tu phap the nao", True),
        (
            "profession",
            "trung tâm hòa giải thương mại của chúng tôi mở thêm chi nhánh thì đăng ký ở đâu",
            True,
        ),
        # mediation at the ward is a citizen's procedure
        ("profession", "nhà bên lấn đất, muốn nhờ phường hòa giải thì làm đơn ở đâu", False),
        # a citizen choosing where to have a contract notarised asks for no profession's licensing
        ("profession", "hợp đồng tặng cho đất chứng thực ở phường hay ra văn phòng công chứng", False),
        # a company changing its legal form, not one being founded
        (
            "reorganise",
            "công ty TNHH một thành viên của tôi có thêm người góp vốn, chuyển thành TNHH hai thành viên",
            True,
        ),
        ("reorganise", "chuyen doi cty tnhh sang co phan thi nop ho so o dau", True),
        ("reorganise", "mở công ty TNHH hai thành viên cần những giấy tờ gì", False),
    ],
)
def test_a_business_of_ones_own_is_told_from_a_citizens_request(group, question, asked):
    # asked for, a notary's or a company's own business is refused unless the best procedure's title
    # marks it (variants.txt, 'refuse:')
    _, cues, _ = refused_variants()[group]
    assert has_phrase(f" {understand(question, restore=str).folded} ", cues) is asked


def test_option_picking():
    options = [Option(1, "a", "Đăng ký lại khai sinh"), Option(2, "b", "Khai sinh có yếu tố nước ngoài")]
    assert pick_option("2", options).doc_id == "b"
    assert pick_option("cái thứ hai", options).doc_id == "b"
    assert pick_option("so 1", options).doc_id == "a"
    assert pick_option("khai sinh có yếu tố nước ngoài", options).doc_id == "b"
    assert pick_option("5", options) is None
    assert pick_option("lệ phí làm hộ chiếu là bao nhiêu vậy", options) is None


def test_sessions_are_bounded_and_expire(monkeypatch):
    store = SessionStore(max_sessions=3, ttl_seconds=60)
    for n in range(5):
        store.get(f"s{n}").focus_doc = "khai-sinh"
    assert len(store) == 3 and "s0" not in store and "s4" in store
    clock = [time.monotonic()]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    store.get("fresh")
    clock[0] += 61
    assert store.get("fresh").focus_doc is None
    assert len(store) == 1


def test_a_result_question_is_answered_from_the_result_section(corpus_assistant):
    answer = corpus_assistant.ask("khai báo tạm vắng xong thì được nhận giấy gì")
    assert answer.aspect == "result" and "Phiếu khai báo tạm vắng (CT03)" in answer.text
    assert any(c.section == "Kết quả" for c in answer.citations)


def test_a_citizen_deadline_is_told_apart_from_the_processing_time(corpus_assistant):
    assert understand("tam tru cua em thang sau het han, khi nao thi phai di gia han", str).asks_deadline
    assert not understand("gia hạn tạm trú mất bao lâu", str).asks_deadline
    answer = corpus_assistant.ask("tam tru cua em thang sau het han, khi nao thi phai di gia han")
    assert "15 ngày trước ngày kết thúc thời hạn tạm trú" in answer.text


def test_a_how_to_question_also_gets_the_documents_to_bring(corpus_assistant):
    answer = corpus_assistant.ask(
        "Con trai tôi lấy vợ rồi, muốn tách ra hộ riêng nhưng vẫn ở chung nhà thì cần làm gì?"
    )
    assert answer.aspect == "steps" and "Các bước thực hiện" in answer.text
    assert "Hồ sơ cần chuẩn bị" in answer.text and "ý kiến đồng ý cho tách hộ của chủ hộ" in answer.text


def test_a_report_figure_given_as_a_list_keeps_its_items(corpus_assistant):
    answer = corpus_assistant.ask("Đặc khu của TP.HCM là đơn vị nào?")
    assert "168 đơn vị hành chính, gồm:" in answer.text
    assert "113 phường;" in answer.text and "1 đặc khu là Côn Đảo." in answer.text


@pytest.mark.parametrize(
    ("name", "ordinary"),
    [
        ("khai sinh", "khai-sinh"),
        ("khai tu", "khai-tu"),
        ("kết hôn", "ket-hon"),
        ("hộ kinh doanh", "dang-ky-thanh-lap-ho-kinh-doanh"),
        ("thẻ căn cước", "cap-the-can-cuoc-tu-14-tuoi"),  # "lần đầu" is the ordinary case, not a variant
        ("ho chieu", "cap-ho-chieu-pho-thong"),  # not the report of a lost one
    ],
)
def test_the_staff_look_up_lists_the_ordinary_procedure_first(corpus_assistant, name, ordinary):
    assert corpus_assistant.search(name, k=5).hits[0].doc_id == ordinary


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Ba tôi mới mất ở nhà hôm qua, làm khai tử cần đem theo giấy tờ gì", "khai-tu"),
        ("chong toi nguoi Han Quoc, dang ky ket hon can giay to gi", "ket-hon-co-yeu-to-nuoc-ngoai"),
        ("mất căn cước rồi làm lại ở đâu", "cap-lai-the-can-cuoc"),
        ("con em mới sinh, đi làm giấy khai sinh cần mang gì ạ?", "khai-sinh"),
        # a country named is a foreign element; where the family lives is no reason to refuse
        (
            "be nha toi sinh ben Han, chua khai sinh o ben do, gio ve Sai Gon lam khai sinh cho be the nao",
            "khai-sinh-co-yeu-to-nuoc-ngoai",
        ),
    ],
)
def test_the_ordinary_procedure_unless_the_question_signals_a_variant(corpus_assistant, question, expected):
    answer = corpus_assistant.ask(question)
    assert answer.status == "answered" and answer.doc_id == expected, answer.doc_id


def test_a_country_named_puts_the_foreign_element_first(corpus_assistant):
    # Since session 23 the answer-or-refuse model refuses this long story although its procedure ranks
    # first (a known regression, eval/README.md); the ranking the staff look-up shows still holds.
    question = "bà xã tôi người Úc qua đời ở bệnh viện tại Quận 7, làm khai tử cho bà ấy ở đâu"
    assert corpus_assistant.search(question, k=3).hits[0].doc_id == "khai-tu-co-yeu-to-nuoc-ngoai"


def test_a_procedure_the_knowledge_base_lacks_gets_an_honest_redirect(corpus_assistant):
    answer = corpus_assistant.ask("thủ tục xin trợ cấp xã hội hằng tháng cho người khuyết tật nặng")
    assert answer.status == "refused" and answer.reason == "not_in_knowledge_base"
    assert "trợ cấp xã hội" in answer.text and "người khuyết tật" in answer.text  # what was understood
    assert "chưa có trong cơ sở tri thức" in answer.text
    assert "1022" in answer.text and "dichvucong.gov.vn" in answer.text
    assert answer.as_dict()["reason"] == "not_in_knowledge_base" and not answer.citations


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        # asks the state for a permit no guide covers: not in the knowledge base, with the redirect
        (
            "Công ty vận tải của tôi muốn xin giấy phép liên vận cho xe tải chạy sang Campuchia",
            "not_in_knowledge_base",
        ),
        (
            "cty minh nhap khau mot lo phan bon moi, can xin giay chung nhan luu hanh o dau",
            "not_in_knowledge_base",
        ),
        # a bank's paper is not the state's, whatever the words
        ("xin giấy xác nhận số dư tài khoản Vietcombank để làm visa", "off_topic"),
        ("Cách nấu phở bò ngon như ngoài tiệm?", "off_topic"),
    ],
)
def test_a_request_to_the_state_no_guide_covers_is_told_apart_from_an_unrelated_one(
    corpus_assistant, question, reason
):
    answer = corpus_assistant.ask(question)
    assert (answer.status, answer.reason) == ("refused", reason)
    assert ("chưa có trong cơ sở tri thức" in answer.text) == (reason == "not_in_knowledge_base")


@pytest.mark.parametrize(
    "question", ["cách đổi mật khẩu app Vietcombank", "thời tiết Sài Gòn cuối tuần này thế nào"]
)
def test_questions_about_something_else_are_refused(corpus_assistant, question):
    answer = corpus_assistant.ask(question)
    assert answer.status == "refused" and answer.reason in ("off_topic", "not_in_knowledge_base")


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        # "nuôi", "con" and "hỗ trợ" are in the adoption and compensation guides' names, but a cow is
        # neither an adopted child nor a loss the state caused
        ("nhà tôi nuôi bò sữa, muốn xin hỗ trợ tiền tinh bò phối giống thì đăng ký ở đâu", None),
        ("con bò nhà tôi bị chết vì dịch, xin hỗ trợ thiệt hại ở đâu", None),
        ("tôi muốn nhận con của chị gái làm con nuôi thì làm ở đâu", "nuoi-con-nuoi-trong-nuoc"),
    ],
)
def test_a_question_that_only_shares_words_with_a_guide_is_not_answered_from_it(
    corpus_assistant, question, doc_id
):
    # Both refusals were answers from those guides before session 23, when the answer-or-refuse model was
    # a logistic one trained on fewer questions people wrote.
    answer = corpus_assistant.ask(question)
    assert (answer.status, answer.doc_id) == (("refused", None) if doc_id is None else ("answered", doc_id))


def test_procedures_named_in_an_answer_are_offered_by_title(corpus_assistant):
    from assistant.pipeline.compose import related_procedures

    snapshot = corpus_assistant.snapshot()
    text = 'Giấy bị mất thì xem "Cấp lại Giấy chứng nhận quyền sử dụng đất (sổ đỏ, sổ hồng) bị mất".'
    (related,) = related_procedures(snapshot, "cap-doi-giay-chung-nhan-dat", text)
    assert related.doc_id == "cap-lai-giay-chung-nhan-dat-bi-mat"
    picked = corpus_assistant.ask(related.title)
    assert picked.status == "answered" and picked.doc_id == related.doc_id


@pytest.mark.parametrize(
    ("question", "acknowledging"),
    [
        ("ba ruot muon nhan con, giay khai sinh de trong phan cha", True),
        ("Anh ấy muốn đứng tên cha trong giấy khai sinh của bé", True),
        ("nhận con nuôi là cháu ruột cần giấy tờ gì", False),  # adopting a child is not acknowledging one
        ("thu tuc nhan con nuoi trong nuoc mat bao lau", False),
    ],
)
def test_acknowledging_a_child_is_told_from_adopting_one(corpus_assistant, question, acknowledging):
    asked = asked_variants(corpus_assistant.understand(question, corpus_assistant.snapshot()))
    assert ("acknowledge" in asked) is acknowledging


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # "cắt tạm trú" is how a landlord says the removal of a registration
        ("nguoi thue nha da don di, chu nha co duoc cat tam tru cua ho khong", "xoa-dang-ky-tam-tru"),
        # a guardian, not the supervision of one: "giám sát" is a variant the question does not ask for
        (
            "anh trai tôi mất, tôi là chú ruột muốn đứng ra làm người giám hộ cho cháu, lên phường cần "
            "giấy gì",
            "dang-ky-giam-ho",
        ),
        ("đăng ký giám sát việc giám hộ cần những giấy tờ gì", "dang-ky-giam-sat-giam-ho"),
        # the birth certificate exists: the father's acknowledgement alone, not the combined registration
        (
            "con gái tôi đã có giấy khai sinh, chỉ có tên mẹ; nay bạn trai người Pháp của tôi muốn nhận con "
            "thì làm ở đâu",
            "nhan-cha-me-con-co-yeu-to-nuoc-ngoai",
        ),
        (
            "hai đứa chưa cưới, bé mới sinh, muốn làm khai sinh có tên bố luôn thì cần gì",
            "khai-sinh-ket-hop-nhan-cha-me-con",
        ),
        (
            "tôi bán tiệm tạp hóa đang là hộ kinh doanh, muốn tạm đóng tiệm ba tháng về quê thì phải báo "
            "trước mấy ngày",
            "tam-ngung-kinh-doanh-ho-kinh-doanh",
        ),
        # closing a shop for a few months is a suspension, not the end of the business
        (
            "tiem tap hoa cua toi (ho kinh doanh) muon nghi 2 thang de sua nha thi co phai bao phuong khong",
            "tam-ngung-kinh-doanh-ho-kinh-doanh",
        ),
        (
            "Tiệm may của tôi là hộ kinh doanh, muốn nghỉ 3 tháng vì sinh con, có cần báo phường không?",
            "tam-ngung-kinh-doanh-ho-kinh-doanh",
        ),
        # the office's register is gone too: the marriage is registered again
        (
            "giay ket hon cua ong ba toi bi chay, ubnd xa khong con so, muon co lai giay thi lam gi",
            "dang-ky-lai-ket-hon",
        ),
        # the father's name left blank on an existing certificate: he acknowledges the child alone
        (
            "khai sinh của cháu bỏ trống tên cha, giờ bố cháu người Nhật muốn nhận con thì làm ở đâu",
            "nhan-cha-me-con-co-yeu-to-nuoc-ngoai",
        ),
        # one owner is the one-member company, however it is said; two friends with you are not
        (
            "mở công ty TNHH mà tôi là chủ sở hữu duy nhất, góp 100% vốn thì hồ sơ cần những gì",
            "dang-ky-thanh-lap-cong-ty-tnhh-mot-thanh-vien",
        ),
        (
            "lap cong ty tnhh, chi minh toi gop von, nop ho so o dau",
            "dang-ky-thanh-lap-cong-ty-tnhh-mot-thanh-vien",
        ),
        (
            "toi voi 2 nguoi ban cung gop von lap cong ty tnhh thi ho so gom gi",
            "dang-ky-thanh-lap-cong-ty-tnhh-hai-thanh-vien",
        ),
        # married parents: their child's birth is registered plainly, neither again nor with a father's
        # acknowledgement; unmarried, the father acknowledges the child; a lost marriage record is
        # registered again
        ("vợ chồng tôi đã đăng ký kết hôn, con mới sinh được 10 ngày, làm khai sinh cần gì", "khai-sinh"),
        (
            "anh ấy chưa đăng ký kết hôn với tôi, con mới sinh, muốn khai sinh có tên bố",
            "khai-sinh-ket-hop-nhan-cha-me-con",
        ),
        (
            "đã đăng ký kết hôn nhưng mất giấy chứng nhận kết hôn, sổ gốc cũng không còn, làm lại ở đâu",
            "dang-ky-lai-ket-hon",
        ),
    ],
)
def test_the_variant_a_question_describes_in_everyday_words(corpus_assistant, question, expected):
    answer = corpus_assistant.ask(question)
    assert answer.status == "answered" and answer.doc_id == expected, answer.doc_id


@pytest.mark.parametrize(
    ("question", "for_an_organisation"),
    [
        ("doanh nghiep cua toi muon tam ngung kinh doanh 6 thang", True),
        ("Chi nhánh công ty tôi đổi địa chỉ thì đăng ký ở đâu", True),
        ("văn phòng luật của tôi muốn đổi trụ sở", True),
        ("cong ty bat nop ly lich tu phap, xin o dau", False),  # the employer asks, the citizen applies
        ("tiệm tạp hóa của tôi muốn tạm ngừng kinh doanh", False),
    ],
)
def test_a_question_for_a_company_is_not_matched_to_a_household_procedure(
    corpus_assistant, question, for_an_organisation
):
    # A company's question answered from a household's or citizen's guide was the commonest wrong answer
    # to not-covered questions in faq_unseen5: the ranker and the answer-or-refuse model now see it.
    snapshot = corpus_assistant.snapshot()
    names = corpus_assistant.retriever.procedures.names(snapshot)
    asked = asked_variants(corpus_assistant.understand(question, snapshot))
    assert ("organisation" in asked) is for_an_organisation
    assert "organisation" not in names.markers[names.position["tam-ngung-kinh-doanh-ho-kinh-doanh"]]
    assert "organisation" in names.markers[names.position["dang-ky-thanh-lap-doanh-nghiep-tu-nhan"]]


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("htx của chúng tôi muốn tạm ngừng kinh doanh 3 tháng thì báo ở đâu", None),
        ("Công ty muốn đóng cửa chi nhánh ở Bình Tân vì làm ăn thua lỗ thì báo với ai", None),
        ("hộ kinh doanh của tôi muốn tạm ngừng kinh doanh 3 tháng", "tam-ngung-kinh-doanh-ho-kinh-doanh"),
        # the guides' building permits are the ward's: detached houses and works of grade III-IV
        ("xưởng của công ty là công trình cấp II, giấy phép xây dựng sắp hết hạn, gia hạn ở đâu", None),
        ("gia han giay phep xay dung cong trinh cap dac biet mat bao lau", None),
        (
            "nhà kho cấp IV của tôi có giấy phép xây dựng sắp hết hạn, xin gia hạn thế nào",
            "gia-han-cap-lai-giay-phep-xay-dung",
        ),
    ],
)
def test_a_question_about_one_kind_of_business_or_building_is_not_answered_for_another(
    corpus_assistant, question, doc_id
):
    # The guides cover household businesses' suspension and closure, not a cooperative's or a company's:
    # those matched the household guides on every word but who runs the business (read unseen sets).
    # Likewise an office tower of grade II matched the ward's permit guides on every word but the grade.
    answer = corpus_assistant.ask(question)
    if doc_id is None:
        assert answer.status == "refused" and answer.reason == "not_in_knowledge_base", answer.doc_id
    else:
        assert answer.status == "answered" and answer.doc_id == doc_id, (answer.status, answer.doc_id)


def test_the_grade_a_question_names_against_the_grades_a_title_names(corpus_assistant):
    # The portal's permit titles name grades as "công trình cấp đặc biệt, cấp I, cấp II" (province) and
    # "công trình cấp III, cấp IV" (ward); "cấp III" must not count as "cấp I".
    high = " cap giay phep xay dung moi cong trinh cap dac biet cap i cap ii "
    low = " cap lai giay phep xay dung doi voi cong trinh cap iii cap iv "
    snapshot = corpus_assistant.snapshot()
    for question, other_than in (
        ("xin giấy phép xây dựng mới cho công trình cấp II", (low,)),
        ("cap lai giay phep xay dung cong trinh cap iii", (high,)),
        ("nhà ở riêng lẻ 3 tầng xin giấy phép xây dựng", (high,)),
        ("xin giấy phép xây dựng", ()),
    ):
        asked = corpus_assistant.understand(question, snapshot)
        assert [title for title in (high, low) if other_kind(asked, title)] == list(other_than), question


def test_a_procedure_for_the_business_the_question_names_is_put_first(corpus_assistant):
    snapshot = corpus_assistant.snapshot()
    names = corpus_assistant.retriever.procedures.names(snapshot)
    company = "dang-ky-thanh-lap-cong-ty-tnhh-mot-thanh-vien"
    for question, household, first in (
        ("công ty tôi mới mở thì đăng ký thành lập cần giấy gì", "dang-ky-thanh-lap-ho-kinh-doanh", company),
        # the company guide does not mark a suspension: no procedure for the asked kind is close
        ("công ty tôi muốn tạm ngừng kinh doanh", "tam-ngung-kinh-doanh-ho-kinh-doanh", None),
    ):
        found = {c.doc_id: c for c in corpus_assistant.search(question, k=10).candidates}
        ranked = [replace(found[household], score=2.0), replace(found[company], score=1.0)]
        asked = corpus_assistant.understand(question, snapshot)
        assert same_kind_first(asked, names, ranked)[0].doc_id == (first or household), question


@pytest.mark.parametrize(
    ("question", "reason", "doc_id"),
    [
        (
            "Tôi là công chứng viên, muốn mở văn phòng công chứng riêng thì xin phép ở đâu",
            "not_in_knowledge_base",
            None,
        ),
        (
            "trung tam day lai xe cua chung toi doi dia diem san tap, bao voi ai",
            "not_in_knowledge_base",
            None,
        ),
        ("lam lai sim viettel bi mat can giay gi", "off_topic", None),
        ("tôi chạy grab, muốn đóng bhxh tự nguyện thì nộp ở đâu", None, "dang-ky-bhxh-tu-nguyen-cap-so-bhxh"),
        ("phường em bị sáp nhập, CCCD ghi địa chỉ cũ thì đổi thẻ ở đâu", None, "cap-doi-the-can-cuoc"),
        ("em xem tren google noi lam khai sinh can giay gi, co dung khong", None, "khai-sinh"),
        (  # "nhà, mang ra" folds to "nha mang" (a telecom) once the comma is gone
            "4 anh em muốn lập văn bản thỏa thuận chia căn nhà, mang ra UBND phường chứng thực được không",
            None,
            "chung-thuc-van-ban-phan-chia-di-san",
        ),
    ],
)
def test_a_question_no_guide_is_written_for_is_refused_whatever_the_words_it_shares(
    corpus_assistant, question, reason, doc_id
):
    # A notary's or a driving school's own licensing matched company or driving-licence guides word for
    # word, and a telecom's SIM matched the identity-card guide (read unseen sets): such variants are
    # refused when the best title does not name them; a citizen who merely mentions them is answered.
    answer = corpus_assistant.ask(question)
    if doc_id is None:
        assert answer.status == "refused" and answer.reason == reason, (answer.status, answer.doc_id)
    else:
        assert answer.status == "answered" and answer.doc_id == doc_id, (answer.status, answer.doc_id)


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("mất thẻ tín dụng Sacombank thì khóa thẻ và làm lại thế nào", None),
        ("lam lai the thu vien truong dai hoc bi mat", None),
        ("mất thẻ căn cước làm lại ở đâu", "cap-lai-the-can-cuoc"),
        ("the can cuoc bi gay can lam lai", "cap-lai-the-can-cuoc"),
        ("mat the bhyt xin cap lai o dau", "cap-lai-doi-dieu-chinh-so-bhxh-the-bhyt"),
    ],
)
def test_a_card_someone_else_issues_is_not_answered_from_the_identity_card_guide(
    corpus_assistant, question, doc_id
):
    # "cấp lại thẻ … bị mất" matched the identity-card guide for bank, library and membership cards
    # (faq_unseen6): a card whose kind the procedure's name does not carry is refused.
    answer = corpus_assistant.ask(question)
    if doc_id is None:
        assert answer.status == "refused", answer.doc_id
    else:
        assert answer.status == "answered" and answer.doc_id == doc_id


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Thẻ ATM Vietcombank cây nuốt mất", [("atm", "vietcombank")]),
        ("chứng chỉ hành nghề thiết kế xây dựng rách", [("hanh", "nghe")]),
        ("thẻ bị mất cấp lại", []),  # says what happened, not which card: nothing to check
        ("mất thẻ bhyt cấp lại", [("bhyt",)]),
    ],
)
def test_the_words_that_say_which_card_or_licence(text, named):
    assert paper_names(text) == named


def ranked_as(docs: tuple[str, ...]) -> list[Candidate]:
    """Candidates in this order, scored 2, 1, ...: a ranking as the ranker might have left it."""
    return [Candidate(doc, 0, np.zeros(1), 2.0 - n) for n, doc in enumerate(docs)]


@pytest.mark.parametrize(
    ("question", "ranked", "first"),
    [
        # asked for the variant ("thôi" = to end; a Japanese wife = a foreign element): it goes first
        (
            "thôi giám hộ cho em trai thì phường giải quyết mấy ngày",
            ("dang-ky-giam-ho", "cham-dut-giam-ho"),
            1,
        ),
        (
            "giay khai sinh cua con (vo toi la nguoi Nhat) bi sai nam sinh, sua o dau",
            ("thay-doi-cai-chinh-ho-tich", "thay-doi-cai-chinh-ho-tich-co-yeu-to-nuoc-ngoai"),
            1,
        ),
        # a foreign father who wants his name on the new birth certificate: the joint registration
        (
            "ban trai toi nguoi Han, con moi sinh, muon lam khai sinh co ten bo luon",
            ("khai-sinh-co-yeu-to-nuoc-ngoai", "khai-sinh-ket-hop-nhan-cha-me-con-co-yeu-to-nuoc-ngoai"),
            1,
        ),
        # a variant nobody asked for gives way to the plain procedure right behind it
        ("Ông nội em mới mất, đi khai tử cần giấy tờ gì", ("dang-ky-lai-khai-tu", "khai-tu"), 1),
        ("Bà nội mất tại nhà hôm qua, đi báo tử ở đâu", ("khai-tu-luu-dong", "khai-tu"), 1),
        # where someone died is not asking the officer to come: only "tận nhà", "không đi được"... are
        ("ba toi mat toi qua tai nha, di khai tu o dau", ("khai-tu-luu-dong", "khai-tu"), 1),
        (
            "bà tôi liệt giường, cán bộ xuống tận nhà làm khai tử được không",
            ("khai-tu", "khai-tu-luu-dong"),
            1,
        ),
        # words that only look like a variant's cue: "thời hạn" is not "thôi", "gãy đôi" is not "đổi"
        ("thời hạn giải quyết đăng ký giám hộ là bao lâu", ("dang-ky-giam-ho", "cham-dut-giam-ho"), 0),
        ("làm lại căn cước bị gãy đôi có tốn phí không", ("cap-lai-the-can-cuoc", "cap-doi-the-can-cuoc"), 0),
        # a procedure that is not the same one plus the variant stays behind
        ("thôi giám hộ cho em trai giải quyết bao lâu", ("dang-ky-giam-ho", "khai-tu"), 0),
        # the asked variant may come with an unasked one left out: a foreigner's death, not a mobile one
        (
            "anh rể tôi quốc tịch Mỹ mất tại nhà, đi khai tử ở đâu",
            ("khai-tu-luu-dong", "khai-tu-co-yeu-to-nuoc-ngoai"),
            1,
        ),
        # a company's size, either way: the titles differ only by it ("hai thành viên trở lên")
        (
            "lap cong ty tnhh, chi minh toi gop von, nop ho so o dau",
            (
                "dang-ky-thanh-lap-cong-ty-tnhh-hai-thanh-vien",
                "dang-ky-thanh-lap-cong-ty-tnhh-mot-thanh-vien",
            ),
            1,
        ),
        (
            "toi voi 2 nguoi ban cung gop von lap cong ty tnhh thi ho so gom gi",
            (
                "dang-ky-thanh-lap-cong-ty-tnhh-mot-thanh-vien",
                "dang-ky-thanh-lap-cong-ty-tnhh-hai-thanh-vien",
            ),
            1,
        ),
        # but not an asked one: the child's father is acknowledged, whatever his nationality
        (
            "ba cua be nguoi Phap muon nhan con",
            ("nhan-cha-me-con", "khai-sinh-co-yeu-to-nuoc-ngoai"),
            0,
        ),
    ],
)
def test_the_variant_the_question_asks_for_and_only_that_goes_first(
    corpus_assistant, question, ranked, first
):
    snapshot = corpus_assistant.snapshot()
    names = corpus_assistant.retriever.procedures.names(snapshot)
    candidates = ranked_as(ranked)
    asked = corpus_assistant.understand(question, snapshot)
    settled = asked_variant_first(asked, names, candidates)
    assert [c.doc_id for c in settled] == [ranked[first], ranked[1 - first]]
    assert [c.score for c in settled] == [2.0, 1.0]  # the policy reads the same score gap


@pytest.mark.parametrize(
    ("question", "ranked", "first"),
    [
        (
            "Con tôi sinh được 3 tuần, cả bố và mẹ đều là người Việt. Đi khai sinh cần mang gì?",
            ("khai-sinh-co-yeu-to-nuoc-ngoai", "khai-sinh"),
            1,
        ),
        (
            "hai dua deu la cong dan viet nam, dang ky ket hon o dau",
            ("ket-hon-co-yeu-to-nuoc-ngoai", "ket-hon"),
            1,
        ),
        # a parent of another nationality keeps the foreign element first
        (
            "bố cháu người Việt, mẹ người Nhật, khai sinh cho cháu ở đâu",
            ("khai-sinh-co-yeu-to-nuoc-ngoai", "khai-sinh"),
            0,
        ),
        # nor one settled abroad: a marriage of two citizens, one of them living abroad, is foreign-element
        (
            "hai dua deu la nguoi viet nhung chong dinh cu o My, dang ky ket hon o dau",
            ("ket-hon-co-yeu-to-nuoc-ngoai", "ket-hon"),
            0,
        ),
        # and "all Vietnamese" does not swap in another act
        (
            "cả hai vợ chồng đều là người Việt, khai sinh cho con",
            ("khai-sinh-co-yeu-to-nuoc-ngoai", "khai-tu"),
            0,
        ),
    ],
)
def test_a_question_saying_everyone_is_vietnamese_gets_the_plain_procedure(
    corpus_assistant, question, ranked, first
):
    snapshot = corpus_assistant.snapshot()
    names = corpus_assistant.retriever.procedures.names(snapshot)
    candidates = ranked_as(ranked)
    settled = settled_order(corpus_assistant.understand(question, snapshot), snapshot, names, candidates)
    assert settled[0].doc_id == ranked[first], question


def test_a_first_issue_is_not_answered_with_the_re_issue_when_the_plain_procedure_is_close(dvc_assistant):
    # "lần đầu" asks for the ordinary procedure, which the record's plain title is ("Cấp thẻ tư vấn
    # viên pháp luật" beside "Cấp lại thẻ …"); asked for a re-issue, the re-issue stays first.
    snapshot = dvc_assistant.snapshot()
    names = dvc_assistant.retriever.procedures.names(snapshot)
    reissue, plain = "1.000390", "1.000426"
    for question, first in (
        ("xin cấp thẻ tư vấn viên pháp luật lần đầu cần giấy tờ gì", plain),
        ("the tu van vien phap luat bi mat, xin cap lai o dau", reissue),
    ):
        candidates = ranked_as((reissue, plain))
        asked = dvc_assistant.understand(question, snapshot)
        assert asked_variant_first(asked, names, candidates)[0].doc_id == first, question


def test_the_border_area_registration_only_for_a_question_about_the_border_area(dvc_assistant):
    # The portal keeps a border-area version of several foreign-element registrations (a resident of a
    # border commune marrying a citizen of the neighbouring country): asked about the border, it goes
    # first; asked without, the ordinary foreign-element procedure does.
    snapshot = dvc_assistant.snapshot()
    names = dvc_assistant.retriever.procedures.names(snapshot)
    guide, border = "ket-hon-co-yeu-to-nuoc-ngoai", "1.000094"
    for question, ranked, first in (
        ("tôi ở xã biên giới, muốn đăng ký kết hôn với người Lào bên kia biên giới", (guide, border), border),
        ("dang ky ket hon voi nguoi Lao can giay to gi", (border, guide), guide),
        ("dang ky ket hon voi nguoi Lao can giay to gi", (guide, border), guide),
    ):
        candidates = ranked_as(ranked)
        asked = dvc_assistant.understand(question, snapshot)
        assert asked_variant_first(asked, names, candidates)[0].doc_id == first, question


def test_a_company_of_another_form_is_not_taken_for_the_two_member_company(tmp_path):
    # "công ty cổ phần với mấy người bạn": the friends ask for several members, but a joint-stock
    # company is not the two-member limited company; one word in place of another is another act.
    folder = tmp_path / "docs"
    folder.mkdir()
    two_members, joint_stock = "dang-ky-thanh-lap-cong-ty-tnhh-hai-thanh-vien", "2.002043"
    shutil.copy(ROOT / "corpus" / "procedures" / f"{two_members}.md", folder)
    shutil.copy(DVC_DIR / f"{joint_stock}.md", folder)
    assistant = make_assistant(tmp_path / "index")
    assistant.ingest([folder], progress=False)
    snapshot = assistant.snapshot()
    names = assistant.retriever.procedures.names(snapshot)
    candidates = ranked_as((joint_stock, two_members))
    question = "Muốn mở công ty cổ phần với mấy người bạn thì hồ sơ cần những gì?"
    asked = assistant.understand(question, snapshot)
    assert "many_members" in asked_variants(asked)
    assert asked_variant_first(asked, names, candidates)[0].doc_id == joint_stock
