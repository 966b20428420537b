"""The rule registry: every rewrite, review item and check finding has a stable code.

Codes: AWT1xx rewrites `migrate` applies, AWT2xx review items it leaves as
`# awaitify: review AWTnnn <reason>` markers, AWT3xx leftovers `check` reports.
"""

from codemods.rules.registry import RULES, Rule, RuleKind, get_rule

__all__ = ["RULES", "Rule", "RuleKind", "get_rule"]
