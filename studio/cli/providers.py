"""`studio providers check`: ask each configured provider which models its credential serves."""

from __future__ import annotations

import argparse

from studio.config import Settings


def cmd_providers_check(args: argparse.Namespace) -> int:
    """One authenticated models list per configured provider and credential; a line per model
    family. Exit 0 when every configured credential is accepted, 1 otherwise."""
    from studio.providers.check import check_providers, report
    from studio.providers.registry import provider_statuses

    lines, status = report(check_providers(provider_statuses(Settings())))
    print("\n".join(lines))
    return status


def add_provider_commands(sub) -> None:  # type: ignore[no-untyped-def]
    prov = sub.add_parser("providers", help="the configured model providers")
    prov_sub = prov.add_subparsers(dest="what", required=True)
    prov_sub.add_parser(
        "check",
        help="ask each configured provider which models its credential serves, with prices; "
        "exit 0 all credentials accepted, 1 otherwise",
    ).set_defaults(func=cmd_providers_check)
