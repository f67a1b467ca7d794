"""Custom domain names: an ACM certificate validated in DNS, and alias records.

With ``domainZoneId`` (the public hosted zone of the names) and no ``certificateArn``,
the component requests one ACM certificate in us-east-1 (CloudFront uses certificates
only from there) for every name, writes the validation CNAMEs into that zone and
declares a validation resource, which completes only once ACM has issued the
certificate; the distribution takes the certificate ARN from it, so it waits. With
``domainZoneId`` it also points every name at the distribution with alias ``A`` and
``AAAA`` records (the distribution has IPv6 on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .tags import Tags

CERTIFICATE_REGION = "us-east-1"
VALIDATION_TTL_S = 300
ALIAS_TYPES = ("A", "AAAA")


@dataclass
class Certificate:
    """The requested certificate, its DNS validation records and the validation."""

    certificate: aws.acm.Certificate
    validation_records: list[aws.route53.Record]
    validation: aws.acm.CertificateValidation

    @property
    def arn(self) -> pulumi.Output[str]:
        """The ARN once the certificate is issued (what the distribution must wait for)."""
        return self.validation.certificate_arn


@dataclass
class AliasRecords:
    """``A`` and ``AAAA`` alias records per domain name."""

    records: dict[str, list[aws.route53.Record]] = field(default_factory=dict)


def validated_names(domain_names: Sequence[str]) -> list[str]:
    """Names ACM validates with distinct records: ``*.x`` shares the record of ``x``."""
    seen: dict[str, str] = {}
    for name in domain_names:
        seen.setdefault(name.removeprefix("*."), name)
    return list(seen.values())


def _validation_option(options: Any, domain: str) -> dict[str, str]:
    """The validation record ACM asks for ``domain``."""
    for option in options or []:
        if option.domain_name == domain:
            return {
                "name": option.resource_record_name,
                "type": option.resource_record_type,
                "value": option.resource_record_value,
            }
    raise ValueError(f"ACM returned no DNS validation option for {domain!r}")


def _label(domain: str) -> str:
    return domain.replace("*", "wildcard").replace(".", "-")


def create_certificate(
    name: str,
    domain_names: Sequence[str],
    *,
    zone_id: pulumi.Input[str],
    tags: Tags,
    parent: pulumi.Resource,
) -> Certificate:
    """Request the certificate, write its validation records, wait for issuance."""
    opts = pulumi.ResourceOptions(parent=parent)
    certificate = aws.acm.Certificate(
        f"{name}-certificate",
        region=CERTIFICATE_REGION,
        domain_name=domain_names[0],
        subject_alternative_names=list(domain_names[1:]) or None,
        validation_method="DNS",
        tags=tags,
        opts=opts,
    )
    records = []
    for domain in validated_names(domain_names):
        option = certificate.domain_validation_options.apply(
            lambda options, d=domain: _validation_option(options, d)
        )
        records.append(
            aws.route53.Record(
                f"{name}-{_label(domain)}-validation",
                zone_id=zone_id,
                name=option["name"],
                type=option["type"],
                records=[option["value"]],
                ttl=VALIDATION_TTL_S,
                # ACM reuses one record per name across certificates: take it over.
                allow_overwrite=True,
                opts=opts,
            )
        )
    validation = aws.acm.CertificateValidation(
        f"{name}-certificate-validation",
        region=CERTIFICATE_REGION,
        certificate_arn=certificate.arn,
        validation_record_fqdns=[record.fqdn for record in records],
        opts=opts,
    )
    return Certificate(certificate=certificate, validation_records=records, validation=validation)


def create_alias_records(
    name: str,
    domain_names: Sequence[str],
    *,
    zone_id: pulumi.Input[str],
    distribution: aws.cloudfront.Distribution,
    parent: pulumi.Resource,
) -> AliasRecords:
    """Point every name at the distribution (alias queries to CloudFront are free)."""
    opts = pulumi.ResourceOptions(parent=parent)
    aliases = AliasRecords()
    for domain in domain_names:
        aliases.records[domain] = [
            aws.route53.Record(
                f"{name}-{_label(domain)}-{record_type.lower()}",
                zone_id=zone_id,
                name=domain,
                type=record_type,
                aliases=[
                    {
                        "name": distribution.domain_name,
                        "zone_id": distribution.hosted_zone_id,
                        "evaluate_target_health": False,
                    }
                ],
                opts=opts,
            )
            for record_type in ALIAS_TYPES
        ]
    return aliases
