"""A person's language and time zone (migration 0008_user_locale) are stored on the user and
read back, on SQLite and PostgreSQL; clearing them leaves the choice to the browser again."""

from __future__ import annotations

from fairdeal.bootstrap import App
from fairdeal.services import users


def test_language_and_time_zone_are_kept_on_the_user(app: App) -> None:
    created = users.create_user(
        app.ctx, role="buyer", name="Ира", email="ira@example.test", language="ru"
    ).user
    assert (created.language, created.time_zone) == ("ru", None)
    users.set_locale(app.ctx, created.id, language="zh_Hans", time_zone="Asia/Shanghai")
    stored = users.get_user(app.ctx, created.id)
    assert stored is not None and (stored.language, stored.time_zone) == (
        "zh_Hans",
        "Asia/Shanghai",
    )
    users.set_locale(app.ctx, created.id, language=None, time_zone=None)
    cleared = users.get_user(app.ctx, created.id)
    assert cleared is not None and (cleared.language, cleared.time_zone) == (None, None)


def test_an_overlong_zone_is_refused(app: App) -> None:
    import pytest

    from fairdeal.domain.errors import ValidationError

    created = users.create_user(app.ctx, role="buyer", name="Li", email="li@example.test").user
    with pytest.raises(ValidationError) as refused:
        users.set_locale(app.ctx, created.id, language="ru", time_zone="X" * 65)
    assert refused.value.code == "validation_error" and refused.value.field == "time_zone"
