from checks import call, expect_close

expect_close("double(3)", call(double, 3), 6)
