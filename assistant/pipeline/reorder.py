"""What the ranker's order cannot know, applied after it: a guide and its record are one procedure; a bare
name starts with the ordinary procedure; a question saying everyone is Vietnamese is not answered with
the foreign-element procedure; a married couple's child is registered without acknowledging a parent; a
child whose birth is registered is not registered again; a
question about one kind of business (or grade of building work) is not answered for another; and a
procedure the portal lists for wards and for the province starts at the level the question names, the
ward when it names none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from assistant.lexicon import variants
from assistant.pipeline.procedures import (
    FOREIGN,
    Candidate,
    NameIndex,
    asked_variants,
    names_parents_married,
    says_domestic,
)
from assistant.pipeline.question import Question
from assistant.store.snapshot import Snapshot
from assistant.text import has_phrase


def settled(
    question: Question, snapshot: Snapshot, names: NameIndex, ranked: list[Candidate]
) -> list[Candidate]:
    """The ranker's candidates with every rule of this module applied, in order."""
    ranked = ordinary_first(question, names, one_per_procedure(snapshot, ranked))
    ranked = domestic_first(question, names, asked_variant_first(question, names, ranked))
    ranked = registered_birth_alone(question, names, married_parents_plain_birth(question, names, ranked))
    return asked_level_first(question, snapshot, same_kind_first(question, names, ranked))


def one_per_procedure(snapshot: Snapshot, ranked: list[Candidate]) -> list[Candidate]:
    """A guide and the official record of its code are one procedure: it is ranked once, where the
    better of the two ranks, and stands as the guide (whose answer also cites the record)."""
    guide_of = snapshot.guide_of
    if not guide_of:
        return ranked
    by_doc = {c.doc_id: c for c in ranked}
    kept: list[Candidate] = []
    seen: set[str] = set()
    for candidate in ranked:
        key = guide_of.get(candidate.doc_id, candidate.doc_id)
        if key in seen:
            continue
        seen.add(key)
        stand_in = by_doc.get(key)
        if key == candidate.doc_id or stand_in is None:  # a guide the filters leave out: the record stays
            kept.append(candidate)
        else:
            kept.append(Candidate(key, stand_in.row, stand_in.features, candidate.score))
    return kept


# The variant group (assistant/data/variants.txt) whose title marker, "lần đầu", names the ordinary case
# of a procedure rather than a variant of it.
ORDINARY_MARKER = "first"


def ordinary_first(question: Question, names: NameIndex, ranked: list[Candidate]) -> list[Candidate]:
    """For a bare name several titles share ("khai sinh", "hộ kinh doanh"), the procedures it names
    come first, the ordinary one before its variants (fewest variant markers, then a title that says
    "lần đầu", then the shortest title), so the chat's options and the staff look-up both start with what
    most people mean."""
    if question.aspect != "general" or not question.words:
        return ranked
    name = f" {question.folded} "
    named = [c for c in ranked if name in names.titles[names.position[c.doc_id]]]
    if len(named) < 2:
        return ranked
    asked = asked_variants(question)

    def ordinariness(item: tuple[int, Candidate]) -> tuple[int, bool, int, int]:
        i = names.position[item[1].doc_id]
        first_issue = ORDINARY_MARKER in names.markers[i]
        variants = len(names.markers[i] - asked - {ORDINARY_MARKER})
        return variants, not first_issue, names.core_lengths[i], item[0]

    named = [c for _, c in sorted(enumerate(named), key=ordinariness)]
    return named + [c for c in ranked if c not in named]


# Variant groups whose cues name the procedure's subject rather than a variant of it ("nhập hộ khẩu" is
# the residence registration itself, not only the combined birth-residence-insurance one), or that
# another rule settles (a business or organisation).
TOPICAL_VARIANTS = frozenset({"combined", "organisation"})
# Variants a question may ask for in words no cue list holds ("lấy chồng ngoại", a Nigerian father): a
# title that marks one is not put behind the plain procedure because the question has no cue for it.
OPEN_ENDED_VARIANTS = frozenset({FOREIGN})
ASKED_VARIANT_WITHIN = 5  # how far down the ranking the procedure marking the asked variant is looked for


def asked_variant_first(question: Question, names: NameIndex, ranked: list[Candidate]) -> list[Candidate]:
    """The variant asked for, and only that. When the question asks for a variant ("thôi giám hộ", "vợ
    tôi là người Nhật") the first procedure's title does not mark, and close behind it stands the same
    procedure with that variant (its title is the first one's plus the marker: "Đăng ký chấm dứt giám
    hộ" after "Đăng ký giám hộ"); or when the first title marks a variant the question does not ask for
    and the plain procedure stands close behind ("Đăng ký lại khai tử" before "Đăng ký khai tử"): the
    closer match trades places (and scores) with the first."""
    if len(ranked) < 2:
        return ranked
    asked = asked_variants(question) - TOPICAL_VARIANTS
    top = names.position[ranked[0].doc_id]
    first = names.markers[top] - TOPICAL_VARIANTS
    unmet, unasked = asked - first, first - asked - {ORDINARY_MARKER} - OPEN_ENDED_VARIANTS
    if not unmet and not unasked:
        return ranked
    core = names.core_words[top]
    left_out_at = None  # the first candidate that meets the asked variant by leaving an unasked one out
    for at, candidate in enumerate(ranked[1:ASKED_VARIANT_WITHIN], start=1):
        i = names.position[candidate.doc_id]
        marks = names.markers[i] - TOPICAL_VARIANTS
        added, dropped, words = marks - first, first - marks, names.core_words[i]
        asked_for = added & unmet and added <= asked and not dropped & asked
        # "lần đầu" asks for the ordinary procedure: the plain title meets it as well as one that says so
        plainer = (
            unmet <= {ORDINARY_MARKER} and dropped and dropped <= unasked and _plus(words, core, dropped)
        )
        if (asked_for and _plus(core, words, added)) or plainer:
            return _trade_places(ranked, at)
        # Failing a title that keeps all the first one says: one that also leaves out a variant nobody
        # asked for ("Đăng ký khai tử có yếu tố nước ngoài" after "Đăng ký khai tử lưu động" for a
        # foreigner's death), or one that says less about the same act ("Đăng ký khai sinh có yếu tố
        # nước ngoài" after "Đăng ký khai sinh cho trẻ mới sinh")
        narrower = _plus(core, words, added, dropped) or (not dropped and _narrower(core, words, added))
        if left_out_at is None and asked_for and dropped <= unasked and narrower:
            left_out_at = at
    return ranked if left_out_at is None else _trade_places(ranked, left_out_at)


SAME_ACT_PAIRS = 3  # word pairs two titles share to name one act: "đăng ký", "ký khai", "khai sinh"


def domestic_first(question: Question, names: NameIndex, ranked: list[Candidate]) -> list[Candidate]:
    """When the question says everyone is Vietnamese ("cả bố và mẹ đều là người Việt") and the first
    title marks the foreign-element variant, the best candidate within ``ASKED_VARIANT_WITHIN`` for the
    same act without that marker trades places with it: the foreign variant is open-ended (a question
    may ask for it in words no cue holds), but not against what the question says. Someone settled
    abroad ("đều là người Việt nhưng chồng định cư ở Mỹ") still asks for it."""
    if len(ranked) < 2 or not says_domestic(question) or FOREIGN in asked_variants(question):
        return ranked
    top = names.position[ranked[0].doc_id]
    if FOREIGN not in names.markers[top]:
        return ranked
    act = names.core_pairs[top]
    return _first_that_trades(
        ranked,
        names,
        lambda i: FOREIGN not in names.markers[i] and len(act & names.core_pairs[i]) >= SAME_ACT_PAIRS,
        ASKED_VARIANT_WITHIN,
    )


def _plus(
    title: frozenset[str], longer: frozenset[str], marked: set[str], unmarked: set[str] = frozenset()
) -> bool:
    """Whether the longer title is the title, less the words that mark the ``unmarked`` variants, plus
    the words that mark the ``marked`` ones (and at most one more word: "có" yếu tố nước ngoài)."""
    title = title - _marker_words(unmarked)
    return title <= longer and len(longer - title - _marker_words(marked)) <= 1


def _narrower(title: frozenset[str], other: frozenset[str], marked: set[str]) -> bool:
    """Whether the other title, without the words that mark these variants, is the same act in fewer
    words: no word the title lacks but "có" (có yếu tố nước ngoài), at least three it shares ("đăng ký"
    alone is no act). A word in place of another is another act: "công ty TNHH" for "công ty cổ phần"."""
    plain = other - _marker_words(marked)
    return plain - title <= {"co"} and len(plain & title) >= 3


def _marker_words(marked: set[str]) -> set[str]:
    """The words of the phrases by which titles mark these variants."""
    return {w for v in marked for phrase in variants()[v][0] for w in phrase.split()}


# Folded phrases by which a question says the child's birth is registered already: what is left to do is
# not the birth registration that also records the father ("khai sinh kết hợp nhận cha, mẹ, con").
BIRTH_REGISTERED_CUES = (
    "da co giay khai sinh", "da co khai sinh", "trong phan cha", "trong phan ten cha", "phan cha de trong",
    "phan ten cha de trong", "chi co ten me", "de trong ten cha", "bo trong ten cha",
)  # fmt: skip
WITH_BIRTH = "khai sinh ket hop"  # what a combined title adds (folded): "khai sinh kết hợp"
WITH_BIRTH_WORDS = frozenset(WITH_BIRTH.split())


PATERNITY_WORDS = frozenset(("ket", "hop", "nhan", "cha", "me", "con"))  # "kết hợp nhận cha, mẹ, con"


def married_parents_plain_birth(
    question: Question, names: NameIndex, ranked: list[Candidate]
) -> list[Candidate]:
    """When a birth question says the parents are married ("vợ chồng tôi đã đăng ký kết hôn"), no parent
    has a child to acknowledge: a first procedure that registers the birth together with acknowledging a
    parent trades places with the plain birth registration (no "nhận", the same foreign-element
    marking) within ``ASKED_VARIANT_WITHIN`` places."""
    if len(ranked) < 2 or not names_parents_married(question):
        return ranked
    top = names.position[ranked[0].doc_id]
    combined = names.core_words[top]
    if not combined >= PATERNITY_WORDS:
        return ranked
    birth = combined - PATERNITY_WORDS - _marker_words({FOREIGN})
    foreign = FOREIGN in names.markers[top]

    def plain_birth(i: int) -> bool:
        words = names.core_words[i]
        return "nhan" not in words and birth <= words | {"co"} and (FOREIGN in names.markers[i]) == foreign

    return _first_that_trades(ranked, names, plain_birth, ASKED_VARIANT_WITHIN)


def registered_birth_alone(question: Question, names: NameIndex, ranked: list[Candidate]) -> list[Candidate]:
    """When the question says the birth certificate exists and the first procedure registers a birth
    together with another act, that act alone (the same title without "khai sinh kết hợp"), wherever
    it ranks, trades places (and scores) with it: the titles say it is the same act."""
    if len(ranked) < 2 or not has_phrase(f" {question.folded} ", BIRTH_REGISTERED_CUES):
        return ranked
    top = names.position[ranked[0].doc_id]
    if f" {WITH_BIRTH} " not in names.titles[top]:
        return ranked
    combined = names.core_words[top]
    return _first_that_trades(
        ranked,
        names,
        lambda i: names.core_words[i] < combined and combined - names.core_words[i] <= WITH_BIRTH_WORDS,
    )


# What a procedure is for, as titles and questions name it (folded), one table per distinction: who runs
# a business ("HTX tạm ngừng kinh doanh" is not the household business's suspension), and the grade of a
# building work (the permits for grades special, I and II are the province's; III and IV the ward's).
BUSINESS_KINDS = {
    "household": ("ho kinh doanh", "hkd"),
    "cooperative": ("hop tac xa", "htx"),
    "cooperative_group": ("to hop tac",),
    "company": ("doanh nghiep", "cong ty"),
}
# A detached house ("nhà ở riêng lẻ") is a low-grade work: the ward's permits are written for it.
BUILDING_GRADES = {
    "high": ("cap dac biet", "cap i", "cap ii"),
    "low": ("cap iii", "cap iv", "nha o rieng le"),
}
KINDS = (BUSINESS_KINDS, BUILDING_GRADES)
SAME_KIND_WITHIN = 5  # how far down the ranking a procedure for the asked kind is looked for
BUSINESS_VARIANT = "organisation"  # the variant group (variants.txt) whose cues name any organisation


def kinds_named(padded: str, table: dict[str, tuple[str, ...]]) -> set[str]:
    """The kinds of one table a padded folded text (" ... ") names."""
    return {kind for kind, phrases in table.items() if has_phrase(padded, phrases)}


def _asked_kinds(question: Question) -> list[set[str]]:
    """The kinds of each table (in KINDS order) the question names."""
    asked = f" {question.folded} "
    return [kinds_named(asked, table) for table in KINDS]


def _other_kinds(asked: list[set[str]], padded_title: str) -> list[int]:
    """The tables (by position in KINDS) in which the question names one kind and the title only others."""
    return [
        n
        for n, (table, named) in enumerate(zip(KINDS, asked, strict=True))
        if len(named) == 1 and (titled := kinds_named(padded_title, table)) and not named & titled
    ]


def other_kind(question: Question, padded_title: str) -> bool:
    """Whether the question names one kind of business (or building grade) and the title only others."""
    return bool(_other_kinds(_asked_kinds(question), padded_title))


def same_kind_first(question: Question, names: NameIndex, ranked: list[Candidate]) -> list[Candidate]:
    """When the first procedure is for another kind of business (or building grade) than the question
    names, the best one close behind for the named kind, if its title marks what the question asks (a
    suspension, a change...), trades places (and scores) with it. Otherwise the policy refuses."""
    if not ranked:
        return ranked
    kinds = _asked_kinds(question)
    tables = _other_kinds(kinds, names.titles[names.position[ranked[0].doc_id]])
    if not tables:
        return ranked
    asked = asked_variants(question) - {BUSINESS_VARIANT}
    for at, candidate in enumerate(ranked[:SAME_KIND_WITHIN]):
        i = names.position[candidate.doc_id]
        named = all(kinds[n] & kinds_named(names.titles[i], KINDS[n]) for n in tables)
        if named and not _other_kinds(kinds, names.titles[i]) and asked <= names.markers[i]:
            return _trade_places(ranked, at)
    return ranked


# Folded phrases by which a question names an authority above the ward: then the procedure at that
# level is the one asked about, not its ward twin.
ABOVE_WARD_CUES = (
    "cap tinh", "cap bo", "trung uong", "ubnd tinh", "uy ban nhan dan tinh", "ubnd thanh pho",
    "uy ban nhan dan thanh pho", "chu tich tinh", "cong an tinh", "cong an thanh pho", "thuoc tinh",
    "trinh tinh", "tinh phe duyet", "len tinh", "cua tinh", "tinh quan ly", "tinh cap phep",
)  # fmt: skip
# A ministry (bộ) or a provincial department (sở) named by its field: "Bộ Xây dựng", "so tu phap". The
# field must follow, since "bộ hồ sơ", "cơ sở" and "hồ sơ xây dựng" fold to the same letters.
AUTHORITY_HEADS = frozenset(("bo", "so"))
NOT_AN_AUTHORITY_BEFORE = frozenset(("ho", "co", "tru", "toan", "can", "mot"))
AUTHORITY_FIELDS = (
    "cong an", "tu phap", "xay dung", "tai chinh", "nong nghiep", "giao thong", "y te", "lao dong",
    "noi vu", "van hoa", "khoa hoc", "ke hoach", "ngoai vu", "ngoai giao", "thong tin", "giao duc",
    "cong thuong", "tai nguyen", "dan toc", "quoc phong", "du lich",
)  # fmt: skip


def names_authority_above_ward(question: Question) -> bool:
    """Whether the question names who handles it above the ward: the province ("Công an tỉnh", "trình
    tỉnh phê duyệt"), a ministry or a provincial department."""
    if has_phrase(f" {question.folded} ", ABOVE_WARD_CUES):
        return True
    words = question.words
    return any(
        word in AUTHORITY_HEADS
        and (i == 0 or words[i - 1] not in NOT_AN_AUTHORITY_BEFORE)
        and has_phrase(f" {' '.join(words[i + 1 : i + 3])} ", AUTHORITY_FIELDS)
        for i, word in enumerate(words)
    )


def asked_level_first(question: Question, snapshot: Snapshot, ranked: list[Candidate]) -> list[Candidate]:
    """When the national database lists the first procedure at the ward and above it ("Quyết toán tiền
    cấp quyền khai thác khoáng sản (cấp Tỉnh)" and "(cấp Xã)"), the twin titles match the question
    equally and the ranker's choice between them is a coin toss. The question settles it when it names
    an authority above the ward; otherwise the ward's procedure is the one a citizen meets first. The
    twins trade places (and scores), and the answer offers the other one."""
    if not ranked or not (twins := snapshot.level_twins.get(ranked[0].doc_id)):
        return ranked
    above = names_authority_above_ward(question)
    at_level = snapshot.is_handled_above_ward if above else snapshot.is_ward_level
    if at_level(ranked[0].doc_id):
        return ranked
    wanted = {t for t in twins if at_level(t)}
    at = next((i for i, c in enumerate(ranked) if c.doc_id in wanted), None)
    if at is None:
        return ranked
    return _trade_places(ranked, at)


def _first_that_trades(
    ranked: list[Candidate], names: NameIndex, accepts: Callable[[int], bool], within: int | None = None
) -> list[Candidate]:
    """The ranking with the best candidate after the first (within ``within`` places) whose document
    (its place in the name index) ``accepts`` traded into first place; unchanged when none is."""
    for at, candidate in enumerate(ranked[1:within], start=1):
        if accepts(names.position[candidate.doc_id]):
            return _trade_places(ranked, at)
    return ranked


def _trade_places(ranked: list[Candidate], at: int) -> list[Candidate]:
    """The ranking with the candidate at ``at`` first and the first one in its place, scores traded too,
    so that the policy reads the same score gap."""
    first, chosen = ranked[0], ranked[at]
    ranked = list(ranked)
    ranked[0], ranked[at] = replace(chosen, score=first.score), replace(first, score=chosen.score)
    return ranked
