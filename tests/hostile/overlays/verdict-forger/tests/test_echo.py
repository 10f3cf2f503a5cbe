def test_echo_returns_the_body() -> None:
    assert True
