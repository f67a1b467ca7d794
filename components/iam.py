"""IAM policy documents shared by the component's roles."""

from __future__ import annotations

import json


def service_trust_policy(*services: str) -> str:
    """A trust policy that lets exactly these AWS services assume the role."""
    principal: str | list[str] = services[0] if len(services) == 1 else list(services)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
