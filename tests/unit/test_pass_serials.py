"""The pass serial budget: 999,999 numbers per area code, warned of from 80% used."""

from passes import domain


def test_the_warning_starts_at_80_percent_and_grows_denser_near_the_end():
    warned = [s for s in range(1, domain.SERIAL_MAX + 1) if domain.serial_warning(s)]
    assert warned[0] == 800_000
    assert warned[:3] == [800_000, 810_000, 820_000]  # every 1% at first
    assert warned[-3:] == [997_000, 998_000, 999_000]  # every 0.1% in the last 1%
    assert len(warned) == 19 + 10


def test_serials_left_counts_down_to_zero_and_never_below():
    assert domain.serials_left(0) == 999_999
    assert domain.serials_left(800_000) == 199_999
    assert domain.serials_left(999_999) == 0
    assert domain.serials_left(1_000_000) == 0


def test_the_budget_outlasts_one_enterprise_at_its_daily_cap_for_years():
    """The arithmetic of passes.domain.pass_number, at the default APPLICATIONS_PER_DAY."""
    per_day = 500
    assert domain.SERIAL_MAX / per_day / 365 > 5  # years to use them all
    assert domain.SERIAL_WARN_AT / per_day == 1_600  # days before the first warning
    assert (domain.SERIAL_MAX - domain.SERIAL_WARN_AT) / 3_000 > 60  # days warned at a peak
