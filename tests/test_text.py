import unicodedata

from assistant.store.accents import AccentModel
from assistant.text import fold, folded_tokens, has_diacritics, normal_lower, normalize, tokens


def test_fold_drops_every_diacritic_and_maps_d_bar():
    assert fold("Đăng ký khai sinh ở Thủ Đức") == "Dang ky khai sinh o Thu Duc"


def test_nfd_input_is_normalised_to_nfc():
    decomposed = unicodedata.normalize("NFD", "giấy khai sinh")
    assert decomposed != "giấy khai sinh"
    assert normalize(decomposed) == "giấy khai sinh"


def test_both_tone_mark_styles_become_one():
    assert normalize("hoà giải") == normalize("hòa giải")
    assert normalize("thuỷ lợi") == normalize("thủy lợi")
    assert normalize("Khoẻ") == normalize("Khỏe")
    # Syllables whose tone has one possible place are left alone.
    for word in ("hoàng", "quý", "gì", "giữa", "người", "khuyến", "tuổi"):
        assert normalize(word) == word


def test_has_diacritics_tells_typed_accents_apart():
    assert has_diacritics("làm giấy khai sinh")
    assert not has_diacritics("lam giay khai sinh can gi")
    assert not has_diacritics("CCCD 1.001193")


def test_tokens_keep_one_letter_syllables():
    assert "ở" in tokens("nộp ở đâu")
    assert folded_tokens("Nộp Ở ĐÂU") == ["nop", "o", "dau"]


def test_accent_model_restores_from_its_own_corpus():
    corpus = [
        "Đăng ký khai sinh cho trẻ em. Người đi khai sinh nộp tờ khai.",
        "Lệ phí đăng ký khai sinh: miễn lệ phí.",
        "Đăng ký kết hôn tại Ủy ban nhân dân cấp xã.",
    ]
    model = AccentModel.build(corpus, phrases=["làm giấy khai sinh cần gì", "bao lâu"])
    assert model.restore("lam giay khai sinh can gi") == "làm giấy khai sinh cần gì"
    assert model.restore("le phi dang ky ket hon") == "lệ phí đăng ký kết hôn"
    # Capitals, digits and unknown words survive; punctuation stays where it was.
    assert model.restore("Dang ky CCCD 2024, bao lau?") == "Đăng ký CCCD 2024, bao lâu?"


def test_an_updated_accent_model_is_the_one_a_fresh_build_gives():
    """A publish updates the previous version's model with the chunks it drops and adds instead of
    counting the whole index again; a user must not see any difference in restored questions."""
    kept = [normal_lower("Đăng ký khai sinh cho trẻ em. Lệ phí đăng ký khai sinh: miễn lệ phí.")]
    dropped = [normal_lower("Đăng ký tàu thuyền đánh bắt của ngư dân. Lệ phí đăng ký tàu thuyền.")]
    added = [normal_lower("Cấp lại giấy khai sinh khi bị mất. Nộp tờ khai cấp lại.")]
    before = AccentModel.build(kept + dropped, normalized=True)
    assert before.updatable()
    after = before.updated(dropped, added)
    fresh = AccentModel.build(kept + added, normalized=True)
    tables = ("unigrams", "bigrams", "trigrams", "candidates", "_spellings", "_total")
    for table in (*tables, "_context1", "_context2", "_followers1", "_followers2"):
        assert getattr(after, table) == getattr(fresh, table), table
    assert "thuyền" in before.unigrams and "thuyền" not in after.unigrams  # only the dropped chunk had it
    for question in ("cap lai giay khai sinh", "dang ky tau thuyen le phi", "dang ky khai sinh mien le phi"):
        assert after.restore(question) == fresh.restore(question)
    assert after.restore("cap lai giay khai sinh") == "cấp lại giấy khai sinh"


def test_general_phrase_list_covers_question_words():
    model = AccentModel.build([])
    assert model.restore("mat bao lau") == "mất bao lâu"
    assert model.restore("nop o dau") == "nộp ở đâu"
