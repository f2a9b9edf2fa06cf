"""The LocalAgreement policy, on plain word lists."""

from chairside.asr.agreement import LocalAgreement, trim_repetition


def feed(agreement: LocalAgreement, hypotheses: list[str]) -> list[list[str]]:
    """Feed full hypotheses the way the streaming loop does: the words after
    what is committed."""
    out = []
    for h in hypotheses:
        out.append(agreement.update(h.split()[len(agreement.committed) :]))
    return out


def test_two_agreeing_hypotheses_commit_their_common_prefix():
    la = LocalAgreement(2)
    assert feed(la, ["le patient", "le patient présente une"]) == [[], ["le", "patient"]]
    assert la.unstable == ["présente", "une"]


def test_three_hypotheses_must_agree_when_n_is_3():
    la = LocalAgreement(3)
    committed = feed(la, ["une carie", "une carie sur", "une carie sur la"])
    assert committed == [[], [], ["une", "carie"]]
    assert la.unstable == ["sur", "la"]


def test_stable_text_only_grows():
    la = LocalAgreement(2)
    seen = []
    for h in ["amoxi", "amoxicilline un", "amoxicilline un gramme", "amoxicilline un gramme matin", "amoxicilline un gramme matin et soir"]:
        la.update(h.split()[len(la.committed) :])
        seen.append(la.stable_text)
    assert all(later.startswith(earlier) for earlier, later in zip(seen, seen[1:]))
    assert seen[-1] == "amoxicilline un gramme matin"


def test_case_and_punctuation_do_not_block_agreement():
    la = LocalAgreement(2)
    feed(la, ["Bonjour, madame", "bonjour madame Dupont"])
    assert la.committed == ["bonjour", "madame"]  # newest spelling, no trailing comma


def test_disagreement_commits_nothing():
    la = LocalAgreement(2)
    assert feed(la, ["la trente", "la quarante six"]) == [[], ["la"]]
    assert la.unstable == ["quarante", "six"]


def test_a_decoding_loop_is_cut():
    assert trim_repetition("par par par par par".split()) == ["par"]
    assert trim_repetition("c'est bon c'est bon c'est bon".split()) == ["c'est", "bon"]
    # a phrase said twice is dictation, not a loop
    assert trim_repetition("un comprimé un comprimé".split()) == "un comprimé un comprimé".split()
    # a loop inside one word (a greedy partial of fr_fleurs_006): the word goes, and what follows it
    assert trim_repetition("avantage, le potropononononononononon set".split()) == ["avantage,", "le"]
    assert trim_repetition("Hahahahaha !".split()) == []
    assert trim_repetition("100000 euros, Mississippi".split()) == ["100000", "euros,", "Mississippi"]


def test_a_looping_hypothesis_never_gets_committed():
    la = LocalAgreement(2)
    feed(la, ["N N N N N N", "N N N N N N N N"])
    assert la.committed == ["N"]


def test_untrusted_hypotheses_are_shown_but_restart_the_agreement():
    la = LocalAgreement(2)
    la.update("however did".split(), trusted=False)
    la.update("however did".split(), trusted=False)
    assert la.committed == [] and la.unstable == ["however", "did"]
    la.update("however due to".split())
    assert la.committed == ["however"]


def test_settle_commits_the_oldest_words_of_the_newest_hypothesis_and_starts_afresh():
    la = LocalAgreement(3)
    feed(la, ["comité au Limpic des", "comité Olympique des États-Unis"])
    assert la.committed == []
    assert la.settle(2) == ["comité", "Olympique"]  # the newest reading, whether or not the others agree
    assert la.committed == ["comité", "Olympique"]
    assert la.unstable == ["des", "États-Unis"]
    # what follows needs n agreeing hypotheses again
    assert la.update(["des", "États-Unis", "selon"]) == []
    assert la.settle(0) == [] and LocalAgreement(2).settle(3) == []
