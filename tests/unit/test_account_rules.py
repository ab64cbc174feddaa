"""Validators and the enterprise status table, with real examples and near misses."""

import pytest

from accounts import domain
from accounts.domain import EnterpriseStatus, filing_block_reason, next_enterprise_status
from core import privacy
from core.errors import InvalidTransition

# Unified social credit codes printed on real business licences.
REAL_CREDIT_CODES = ["91350100M000100Y43", "91110000600037341L", "91330100716105852F"]


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_pass_the_gb32100_check(code):
    assert domain.normalise_credit_code(code) == code


def test_credit_code_is_normalised_to_uppercase_without_spaces():
    assert domain.normalise_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "check"),  # last character off by one
        ("91350100M000100Y4", "18"),  # one short
        ("91350100M000100Y433", "18"),  # one long
        ("91350100M0001O0Y43", "capital"),  # letter O is not in the alphabet
        ("91350100M000I00Y43", "capital"),  # letter I neither
        ("", "18"),
    ],
)
def test_near_miss_credit_codes_are_rejected_with_the_reason(code, why):
    with pytest.raises(ValueError, match=why):
        domain.normalise_credit_code(code)


def test_every_single_character_change_of_a_credit_code_is_caught():
    code = REAL_CREDIT_CODES[0]
    for i in range(18):
        for c in domain.CREDIT_CODE_ALPHABET:
            if c == code[i]:
                continue
            mutated = code[:i] + c + code[i + 1 :]
            with pytest.raises(ValueError, match="check character"):
                domain.normalise_credit_code(mutated)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+8613812345678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("008619912345678", "+8619912345678"),
        ("8615012345678", "+8615012345678"),
    ],
)
def test_mainland_mobiles_are_normalised_to_e164(raw, e164):
    assert domain.normalise_mobile(raw) == e164


@pytest.mark.parametrize(
    "raw",
    ["12812345678", "1381234567", "138123456789", "+8513812345678", "0571-88888888", "abc", ""],
)
def test_non_mobile_numbers_are_rejected(raw):
    with pytest.raises(ValueError, match="mainland mobile"):
        domain.normalise_mobile(raw)


def test_mobile_is_masked_for_lists():
    assert privacy.mask_mobile("+8613812345678") == "138****5678"


@pytest.mark.parametrize("name", ["ab", "has space", "名字中文", "x" * 65])
def test_bad_usernames_are_rejected(name):
    with pytest.raises(ValueError, match="username"):
        domain.normalise_username(name)


def test_username_is_lowercased():
    assert domain.normalise_username(" Zhang.San ") == "zhang.san"


@pytest.mark.parametrize("password", ["short1", "onlyletters", "1234567890", "x1" * 65])
def test_weak_passwords_are_rejected(password):
    with pytest.raises(ValueError, match="password"):
        domain.check_password(password)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("pending", "approved"),
        ("pending", "suspended"),
        ("approved", "suspended"),
        ("suspended", "approved"),
        ("pending", "rejected"),
        ("rejected", "approved"),
    ],
)
def test_allowed_enterprise_transitions(current, target):
    assert next_enterprise_status(current, target) == target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("approved", "approved"),
        ("approved", "pending"),
        ("suspended", "pending"),
        ("pending", "pending"),
        ("approved", "rejected"),
        ("rejected", "suspended"),
        ("suspended", "rejected"),
    ],
)
def test_forbidden_enterprise_transitions_raise(current, target):
    with pytest.raises(InvalidTransition):
        next_enterprise_status(current, target)


def test_only_approved_enterprises_may_file_passes():
    assert filing_block_reason(EnterpriseStatus.APPROVED) is None
    assert "approval" in filing_block_reason(EnterpriseStatus.PENDING)
    assert "suspended" in filing_block_reason(EnterpriseStatus.SUSPENDED)
    assert "not approved" in filing_block_reason(EnterpriseStatus.REJECTED)
