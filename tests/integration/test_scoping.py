"""Tenant scoping: the helper every enterprise-data query goes through."""

import pytest
from sqlalchemy import select

from accounts.domain import Role
from accounts.models import Enterprise
from accounts.scoping import get_scoped, scoped
from core.errors import NotFound


def test_enterprise_user_sees_only_its_own_enterprise(make, db):
    mine, other = make.enterprise(), make.enterprise()
    user = make.enterprise_user(mine)
    rows = db.scalars(scoped(select(Enterprise), Enterprise, user)).all()
    assert [e.id for e in rows] == [mine.id]
    with pytest.raises(NotFound):
        get_scoped(db, Enterprise, other.id, user)
    assert get_scoped(db, Enterprise, mine.id, user).id == mine.id


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER, Role.SUPERVISOR])
def test_oversight_roles_see_every_enterprise(make, db, role):
    make.enterprise(), make.enterprise()
    user = make.user(role)
    assert len(db.scalars(scoped(select(Enterprise), Enterprise, user)).all()) == 2


def test_officers_see_no_enterprise(make, db):
    make.enterprise()
    officer = make.user(Role.OFFICER)
    assert db.scalars(scoped(select(Enterprise), Enterprise, officer)).all() == []
