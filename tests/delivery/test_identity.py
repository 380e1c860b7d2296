"""Identity numbers (GB 11643): the check character, birth dates, masking, sealing and the keyed hash
that recognises one person in every organization's register without reading the number."""
from __future__ import annotations

import base64
import hashlib
from datetime import date

import pytest

from svcproc.core import crypto
from svcproc.delivery import identity
from svcproc.delivery.models import Beneficiary
from svcproc.extensions import db

pytestmark = pytest.mark.usefixtures("shared_connection")

# The worked example of GB 11643-1999 (check character X), a 29 February and two more.
VALID = ("11010519491231002X", "110101200002290034", "510107194803090117", "51010720160501014X")


@pytest.mark.parametrize("number", VALID)
def test_a_number_with_the_right_check_character_is_accepted(number):
    assert identity.validate(number) == number


def test_the_check_character_follows_the_weights_and_modulus_11():
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167; 167 mod 11 = 2 -> X
    assert identity.check_character("11010519491231002") == "X"
    assert identity.make("44052419800101001") == "440524198001010013"


@pytest.mark.parametrize("typed", ["11010519491231002x", " 110105 19491231002X ", "11010519491231002X\n"])
def test_a_lower_case_x_and_spaces_are_normalised(typed):
    assert identity.validate(typed) == "11010519491231002X"


@pytest.mark.parametrize("number, reason", [
    ("110105194912310021", "check"),          # X expected
    ("11010519491231002X"[:17] + "9", "check"),
    ("510107194803090116", "check"),
    ("440524188001010014", "birth_date"),     # the standard's own example was born in 1880
    ("11010120010229003" + "X", "birth_date"),  # 29 February of a common year
    ("11010519490230002" + "X", "birth_date"),  # 30 February
    ("11010519491331002" + "X", "birth_date"),  # month 13
    ("11010518991231002" + "X", "birth_date"),  # before 1900
    ("11010520990101002" + "X", "birth_date"),  # born in the future
    ("1101051949123100", "length"),
    ("11010519491231002XX", "length"),
    ("", "length"),
    ("11010519491231002Y", "charset"),
    ("X10105194912310021", "charset"),
])
def test_a_wrong_number_is_refused_saying_why(number, reason):
    if reason == "birth_date" and len(number) == 18 and number[17] != identity.check_character(number[:17]):
        number = number[:17] + identity.check_character(number[:17])  # only the date is wrong
    with pytest.raises(identity.IdentityNumberError) as refused:
        identity.validate(number)
    assert refused.value.reason == reason


def test_a_birth_date_of_today_is_a_real_date(clock):
    today = date.today()
    number = identity.make(f"110105{today:%Y%m%d}002")
    assert identity.birth_date(identity.validate(number)) == today


@pytest.mark.parametrize("number, masked", [
    ("11010519491231002X", "110***********002X"),
    ("510107194803090117", "510***********0117"),
    ("", ""),
])
def test_a_number_shows_its_first_three_and_last_four_characters(number, masked):
    assert identity.mask(number) == masked


@pytest.mark.parametrize("phone, masked", [
    ("13981234567", "139****4567"),
    ("028-85551234", "028*****1234"),
    ("1234567", "*******"),
    ("", ""),
])
def test_a_phone_is_masked_likewise(phone, masked):
    assert identity.mask_phone(phone) == masked


def test_a_sealed_number_is_ciphertext_that_opens_to_the_number():
    sealed = identity.seal_number("11010519491231002X")

    assert b"11010519491231002X" not in sealed
    assert identity.seal_number("11010519491231002X") != sealed  # a fresh nonce each time
    assert identity.unseal_number(sealed) == "11010519491231002X"


def test_a_sealed_phone_is_ciphertext():
    sealed = identity.seal_phone("13981234567")
    assert b"13981234567" not in sealed
    assert identity.unseal_phone(sealed) == "13981234567"


def test_the_match_key_is_keyed_not_a_plain_hash():
    key = identity.match_key("11010519491231002X")

    assert key == identity.match_key(" 11010519491231002x ")
    assert key != hashlib.sha256(b"11010519491231002X").hexdigest()
    assert "11010519491231002X" not in key


def test_the_same_person_has_the_same_key_in_every_register(world):
    mine, theirs = world.people["shared"], world.people["other_shared"]

    assert mine.organization_id != theirs.organization_id
    assert mine.id_match_key == theirs.id_match_key == identity.match_key(world.number("shared"))
    assert mine.id_number_sealed != theirs.id_number_sealed
    assert world.people["elder"].id_match_key != mine.id_match_key


def test_another_data_key_gives_other_keys_and_cannot_open_the_seals(app, world, monkeypatch):
    number = world.number("elder")
    person = db.session.get(Beneficiary, world.people["elder"].id)
    key_here = identity.match_key(number)

    monkeypatch.setitem(app.config, "DATA_KEY", base64.urlsafe_b64encode(b"another deployment's key 32 byte").decode())

    assert identity.match_key(number) != key_here
    assert identity.match_key(number) == identity.match_key(number)
    with pytest.raises(crypto.DecryptionError):
        identity.unseal_number(person.id_number_sealed)


def test_a_data_key_of_the_wrong_length_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_KEY", base64.urlsafe_b64encode(b"too short").decode())
    with pytest.raises(RuntimeError):
        identity.match_key("11010519491231002X")
