"""The signature GitHub puts on a webhook delivery."""

from __future__ import annotations

from wharf.infra.webhooks import github_signature


def test_github_s_documented_signature_example_verifies() -> None:
    # docs.github.com, "Validating webhook deliveries": the secret, payload and signature
    # it gives to test an implementation with.
    assert github_signature("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    assert github_signature("another secret", b"Hello, World!") != github_signature(
        "It's a Secret to Everybody", b"Hello, World!")


def test_builds_clone_from_public_hosts_unless_the_operator_allows_private_ones() -> None:
    import pytest

    from wharf.infra.builder import Builder, BuildFailed

    builder = Builder.__new__(Builder)  # (only its choice of hosts is asked here)
    builder.private_git = False
    for url in ("git://127.0.0.1:9418/app.git", "http://localhost/app.git",
                "https://10.1.2.3/app.git", "http://169.254.169.254/latest",
                "https://[::1]/x.git"):
        with pytest.raises(BuildFailed, match=r"private network|no such host"):
            builder._check_host(url)
    builder.private_git = True
    builder._check_host("git://127.0.0.1:9418/app.git")  # (tests' own repositories)
