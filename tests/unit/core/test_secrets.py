import base64

from hubpush.core.secrets import generate_secret, hash_secret, verify_secret


def test_secrets_carry_at_least_128_random_bits_and_differ():
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        assert len(raw) * 8 >= 128


def test_hash_is_salted_slow_and_never_contains_the_secret():
    secret = generate_secret()
    first, second = hash_secret(secret), hash_secret(secret)
    assert first != second  # salted
    assert first.startswith("scrypt$16384$")
    assert secret not in first
    assert verify_secret(secret, first) and verify_secret(secret, second)


def test_wrong_or_malformed():
    stored = hash_secret("right")
    assert not verify_secret("wrong", stored)
    assert not verify_secret("right", "plain-text")
    assert not verify_secret("right", "bcrypt$1$2$3$4$5")
    assert not verify_secret("right", "scrypt$x$8$1$abc$def")
