"""Fuzzing every service's API from its own OpenAPI document (Schemathesis 4), plus the auth matrix.

A service's tests add one line (see docs/adding-a-service.md):

    globals().update(fuzz_tests(SERVICE, claims={"companies": [1]}))

which defines two tests using the service's `client` and `settings` fixtures (the api over real HTTP
on a fresh migrated database):

- `test_fuzz_every_operation_conforms_to_its_openapi`: Schemathesis generates valid and invalid
  requests for every operation of the live `/openapi.json`, sent with a token carrying every scope the
  service declares (and the configured scope claims). Every answer must be a non-5xx with a documented
  status, content type and body schema, and invalid input must be refused with a 4xx.
- `test_auth_matrix_refuses_every_operation_that_needs_auth`: for every operation that declares a
  scope, a request without a token, with malformed ones, with an expired one (401) and with a token
  lacking the operation's scope (403); with `other_company` claims, the operations it names answer 403.

Schemathesis is synchronous (requests): it runs in a thread while the test's event loop serves the api.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from quintet_web import mint_token

# What every answer is checked for (by name, resolved in `_checks`): no 5xx, a documented status,
# content type, headers and body schema, and invalid input refused.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
PLATFORM_PATHS = ("/health", "/ready", "/metrics")  # no input, no auth: nothing to fuzz


@dataclass(frozen=True)
class Operation:
    """One operation of the service's route table, as the auth matrix needs it."""

    method: str
    path: str  # OpenAPI form: /api/v1/segment/{slug}
    scopes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class FuzzReport:
    """Failures per operation; the test fails with all of them listed, not only the first."""

    failures: dict[str, list[str]] = field(default_factory=dict)
    examples: int = 0

    def add(self, label: str, message: str) -> None:
        found = self.failures.setdefault(label, [])
        if len(found) < 3:  # the first few of each operation say enough
            found.append(message)

    def assert_clean(self) -> None:
        if self.failures:
            lines = [
                f"{label}:\n" + "\n".join(f"  - {m}" for m in msgs) for label, msgs in self.failures.items()
            ]
            raise AssertionError(f"{len(self.failures)} operation(s) failed:\n" + "\n".join(lines))


def operations_of(service: Any) -> list[Operation]:
    """Every route of the service (its declaration's route table) with the scopes it accepts (empty:
    no auth), paths in their OpenAPI form."""
    from quintet_service import resolve

    return [
        Operation(spec.method, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", spec.path), tuple(spec.scope))
        for spec in resolve(service.routes).routes
    ]


def all_scopes(operations: Iterable[Operation]) -> list[str]:
    return sorted({scope for op in operations for scope in op.scopes})


def _checks(names: Sequence[str]) -> list[Any]:
    from schemathesis import checks as builtin
    from schemathesis.specs.openapi import checks as openapi

    builtin.load_all_checks()
    return [getattr(openapi, name, None) or getattr(builtin, name) for name in names]


def _failure_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if len(text) < 1500 else text[:1500] + " …"


def run_schemathesis(
    base_url: str,
    document: dict[str, Any],
    headers: Mapping[str, str],
    *,
    max_examples: int,
    checks: Sequence[str] = CHECKS,
    skip: Callable[[str], bool] = lambda label: False,
) -> FuzzReport:
    """Run Schemathesis over every operation of `document` against `base_url` (blocking)."""
    import requests
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.core.result import Err

    schema = schemathesis.openapi.from_dict(document)
    check_functions = _checks(checks)
    report = FuzzReport()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                report.add("the OpenAPI document", f"an operation cannot be fuzzed: {result.err()}")
                continue
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            if operation.path in PLATFORM_PATHS or skip(label):
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz_operation(
                    operation,
                    mode,
                    f"{label} ({mode.value})",
                    report,
                    lambda case: case.call(
                        base_url=base_url, session=session, headers=dict(headers), timeout=30
                    ),
                    lambda case, response: case.validate_response(
                        response, checks=check_functions, headers=dict(headers)
                    ),
                    max_examples,
                )
    return report


def _fuzz_operation(
    operation: Any,
    mode: Any,
    label: str,
    report: FuzzReport,
    call: Callable[[Any], Any],
    validate: Callable[[Any, Any], None],
    max_examples: int,
) -> None:
    import hypothesis
    from schemathesis.core.failures import FailureGroup  # a BaseExceptionGroup, not an Exception

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: a failure reproduces
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        report.examples += 1
        response = call(case)
        try:
            validate(case, response)
        except (Exception, FailureGroup) as exc:  # every failure is collected, not only the first
            report.add(label, _failure_text(exc))

    try:
        run()
    except (Exception, FailureGroup) as exc:  # generation itself failed (an invalid schema, ...)
        report.add(label, f"generation failed: {_failure_text(exc)}")


@dataclass(frozen=True)
class AuthCase:
    name: str
    authorization: str | None
    status: int


def auth_cases(
    secret: str, operation: Operation, scopes: Sequence[str], claims: Mapping[str, Any]
) -> list[AuthCase]:
    """The tokens every authenticated operation must refuse, with the status it must answer."""
    every = " ".join(scopes)
    others = " ".join(s for s in scopes if s not in operation.scopes)
    cases = [
        AuthCase("no token", None, 401),
        AuthCase("not a bearer token", "Basic dXNlcjpwYXNz", 401),
        AuthCase("malformed token", "Bearer not.a.jwt", 401),
        AuthCase("empty bearer", "Bearer ", 401),
        AuthCase(
            "token signed with another secret",
            "Bearer " + mint_token(secret + "-other", sub="fuzz", scope=every, **claims),
            401,
        ),
        AuthCase(
            "expired token",
            "Bearer " + mint_token(secret, sub="fuzz", scope=every, ttl_seconds=-60, **claims),
            401,
        ),
        AuthCase(
            "token without any scope of this service",
            "Bearer " + mint_token(secret, sub="fuzz", scope="unrelated:scope", **claims),
            403,
        ),
    ]
    if others:
        cases.append(
            AuthCase(
                f"token with the other scopes only ({others})",
                "Bearer " + mint_token(secret, sub="fuzz", scope=others, **claims),
                403,
            )
        )
    return cases


def run_auth_matrix(
    base_url: str,
    document: dict[str, Any],
    operations: Sequence[Operation],
    secret: str,
    claims: Mapping[str, Any],
    *,
    other_company: Mapping[str, Any] | None = None,
    other_company_operations: Sequence[str] = (),
) -> FuzzReport:
    """Send each refused token to every operation that declares a scope, with a valid request."""
    import requests
    import schemathesis

    schema = schemathesis.openapi.from_dict(document)
    scopes = all_scopes(operations)
    report = FuzzReport()
    session = requests.Session()  # closed at the end
    for operation in operations:
        if not operation.scopes:
            continue
        api_operation = schema[operation.path][operation.method.lower()]
        strategy = api_operation.as_strategy()
        with warnings.catch_warnings():  # example() warns that it is meant for interactive use
            warnings.simplefilter("ignore")
            case = strategy.example()
        for name in [k for k in case.headers or {} if k.lower() == "authorization"]:
            del case.headers[name]  # the matrix sends its own (or none)
        matrix = auth_cases(secret, operation, scopes, claims)
        if other_company is not None and operation.label in other_company_operations:
            token = mint_token(secret, sub="fuzz", scope=" ".join(scopes), **other_company)
            matrix.append(AuthCase("token of another company", "Bearer " + token, 403))
        for auth in matrix:
            headers = {} if auth.authorization is None else {"Authorization": auth.authorization}
            report.examples += 1
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
            if response.status_code != auth.status:
                report.add(
                    operation.label,
                    f"{auth.name}: expected {auth.status}, got {response.status_code}: {response.text[:300]}",
                )
            elif not _is_error_envelope(response):
                report.add(operation.label, f"{auth.name}: not an error envelope: {response.text[:300]}")
    session.close()
    return report


def _is_error_envelope(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"code", "message", "details"}


def fuzz_tests(
    service: Any,
    *,
    claims: Mapping[str, Any] | None = None,
    max_examples: int = 25,
    checks: Sequence[str] = CHECKS,
    skip: Sequence[str] = (),
    other_company: Mapping[str, Any] | None = None,
    other_company_operations: Sequence[str] = (),
) -> dict[str, Any]:
    """The fuzz test and the auth matrix of `service` (a ServiceDeclaration), for `globals().update`.

    `claims`: scope claims of the fuzzing token (`companies`, `park_id`, `driver_id`, ...).
    `max_examples`: examples per operation and mode (valid, invalid); keep a service's run under ~60 s.
    `skip`: operation labels ("POST /api/v1/x") the fuzzer leaves alone (say why where you use it).
    `other_company`: claims of a token that must get 403 on `other_company_operations` (labels).
    """
    token_claims = dict(claims or {})
    skipped = set(skip)

    async def test_fuzz_every_operation_conforms_to_its_openapi(client: Any, settings: Any) -> None:
        operations = operations_of(service)
        token = mint_token(
            settings.jwt_secret, sub="fuzz", scope=" ".join(all_scopes(operations)), **token_claims
        )
        document = await (await client.get("/openapi.json")).json()
        base_url = str(client.make_url("")).rstrip("/")
        report = await asyncio.to_thread(
            run_schemathesis,
            base_url,
            document,
            {"Authorization": f"Bearer {token}"},
            max_examples=max_examples,
            checks=checks,
            skip=lambda label: label in skipped,
        )
        assert report.examples > 0, "the fuzzer sent nothing: does /openapi.json list the routes?"
        report.assert_clean()

    async def test_auth_matrix_refuses_every_operation_that_needs_auth(client: Any, settings: Any) -> None:
        operations = operations_of(service)
        document = await (await client.get("/openapi.json")).json()
        base_url = str(client.make_url("")).rstrip("/")
        report = await asyncio.to_thread(
            run_auth_matrix,
            base_url,
            document,
            operations,
            settings.jwt_secret,
            token_claims,
            other_company=other_company,
            other_company_operations=other_company_operations,
        )
        assert report.examples > 0, "no operation declares a scope"
        report.assert_clean()

    tests = (
        test_fuzz_every_operation_conforms_to_its_openapi,
        test_auth_matrix_refuses_every_operation_that_needs_auth,
    )
    return {test.__name__: test for test in tests}


__all__ = [
    "CHECKS",
    "FuzzReport",
    "Operation",
    "fuzz_tests",
    "operations_of",
    "run_auth_matrix",
    "run_schemathesis",
]
