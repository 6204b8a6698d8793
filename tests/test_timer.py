import time

import pytest

from linbook import Timer


def test_timer_records_intervals_and_statistics():
    timer = Timer()
    time.sleep(0.01)
    first = timer.stop()
    timer.start()
    time.sleep(0.02)
    second = timer.stop()
    assert first >= 0.009 and second >= 0.019
    assert timer.times == [first, second]
    assert timer.sum() == pytest.approx(first + second)
    assert timer.avg() == pytest.approx((first + second) / 2)
    assert timer.cumsum() == pytest.approx([first, first + second])


def test_timer_avg_without_intervals_is_a_clear_error():
    with pytest.raises(ValueError, match="no interval"):
        Timer().avg()
