"""Stack config: the rules across keys (KMS, SigV4, domains, alarms, WAF, rehearsals).

Pure, no Pulumi runtime. Each test states a rule an operator relies on; an error must
name the key as the operator spelled it, the offending value and what is allowed.
"""

from __future__ import annotations
