"""The pytest warning policy (pyproject.toml): a pulumi_aws deprecation fails the
tests, except the known ones raised by modules the program does not use."""

from __future__ import annotations

import warnings

import pytest


def _warn_from(module: str, message: str) -> None:
    warnings.warn_explicit(message, DeprecationWarning, f"{module}.py", 1, module=module)


def test_a_deprecation_in_a_module_the_program_uses_fails_the_tests() -> None:
    with pytest.raises(DeprecationWarning, match="Distribution has been deprecated"):
        _warn_from(
            "pulumi_aws.cloudfront.distribution",
            "aws.cloudfront/distribution.Distribution has been deprecated",
        )


def test_a_known_deprecation_of_an_unused_module_is_ignored() -> None:
    with warnings.catch_warnings(record=True) as caught:
        _warn_from(
            "pulumi_aws.s3.bucket_v2", "s3.BucketV2 has been deprecated in favor of s3.Bucket"
        )
    assert caught == []


def test_the_same_message_from_another_module_still_fails() -> None:
    with pytest.raises(DeprecationWarning, match="BucketV2"):
        _warn_from("pulumi_aws.s3.bucket", "s3.BucketV2 has been deprecated in favor of s3.Bucket")
