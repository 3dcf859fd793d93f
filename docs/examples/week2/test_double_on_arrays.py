### BEGIN HIDDEN TESTS
import reference
from checks import call, matches


def test_double_on_arrays(double, rng):
    x = rng.normal(size=(4, 5))
    assert matches(call(double, x), reference.double(x)), "double on a 4x5 array"


### END HIDDEN TESTS
