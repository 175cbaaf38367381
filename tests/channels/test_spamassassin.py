"""SpamAssassin reads every e-mail template as a receiver would: each template rendered
with its sample context and built into the MIME mail delivery sends, then scored by
``spamassassin --test-mode --local`` (no network tests). Every template scores under
2.0 points; the scores are printed, one line per template.

Skipped when ``spamassassin`` is not installed; a failure under ``CI=true`` (``.ci/run``
installs Debian's package).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from automation.channels.email import build_email
from automation.channels.email_template import render_email
from automation.channels.templates import sample_context
from automation.config import ROOT, reset_settings
from tests.services import UNDER_CI

LIMIT = 2.0
NAMES = sorted(
    p.stem
    for p in (ROOT / "templates" / "email").glob("*.txt")
    if p.stem != "base" and not p.stem.startswith("_")
)
# A production-like set-up: tracking on https, links to the insurer's site.
SETTINGS = {
    "AUTOMATION_PUBLIC_URL": "https://crm.example.com",
    "AUTOMATION_SITE_URL": "https://www.example.com",
}
_STATUS = re.compile(
    r"^X-Spam-Status: (?:Yes|No), score=(-?\d+(?:\.\d+)?).*?tests=(.*?)\s(?:autolearn|version)=",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Verdict:
    score: float
    rules: tuple[str, ...]


def spamassassin() -> str:
    """The ``spamassassin`` program; skips (locally) or fails (CI) without it."""
    program = shutil.which("spamassassin")
    if program:
        return program
    message = "spamassassin is not installed"
    if UNDER_CI:
        pytest.fail(f"{message}, and CI=true: .ci/run installs it", pytrace=False)
    pytest.skip(f"{message}; `apt-get install spamassassin` to run this test (CI requires it)")


def score(program: str, mail: bytes, prefs: Path) -> Verdict:
    """What ``spamassassin -t -L`` makes of ``mail``: no network, no Bayes, no user prefs."""
    proc = subprocess.run(
        [
            program,
            "--test-mode",
            "--local",
            "--nocreate-prefs",
            f"--prefspath={prefs}",
            "--cf=use_bayes 0",
            "--cf=bayes_auto_learn 0",
        ],
        input=mail,
        capture_output=True,
        timeout=180,
        check=False,
    )
    found = _STATUS.search(proc.stdout.decode("utf-8", "replace"))
    if proc.returncode != 0 or found is None:
        pytest.fail(f"spamassassin said {proc.returncode}: {proc.stderr.decode()[-500:]}")
    rules = tuple(r for r in re.split(r"[,\s]+", found.group(2)) if r and r != "none")
    return Verdict(float(found.group(1)), rules)


def mail_of(name: str) -> bytes:
    """``email/<name>`` rendered with its sample context and built as delivery builds it."""
    context = sample_context("email")
    message = context["message"]
    rendered = render_email(name, context)
    built = build_email(
        rendered, to=context["customer"]["email"], message_id=message["id"], message_key=name
    )
    return built.as_bytes()


@pytest.fixture(scope="module")
def verdicts() -> Iterator[dict[str, Verdict]]:
    """Every template's verdict, scored in parallel (a run takes a second or two)."""
    program = spamassassin()
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        # Module scope runs before the per-test isolation: do the same here.
        for variable in [v for v in os.environ if v.startswith("AUTOMATION_")]:
            patch.delenv(variable)
        for variable, value in SETTINGS.items():
            patch.setenv(variable, value)
        patch.chdir(folder)
        reset_settings()
        mails = {name: mail_of(name) for name in NAMES}
        prefs = Path(folder) / "user_prefs"
        prefs.write_text("")
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
            scored = pool.map(lambda name: (name, score(program, mails[name], prefs)), NAMES)
            found = dict(scored)
        reset_settings()
    yield found


def test_there_are_templates_to_score() -> None:
    assert len(NAMES) >= 10, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_template_scores_under_the_limit(
    name: str, verdicts: dict[str, Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    verdict = verdicts[name]
    with capsys.disabled():  # the scores belong in every run's output, passing or not
        print(f"\nSpamAssassin {name}: {verdict.score:.1f} ({', '.join(verdict.rules)})")
    assert verdict.score < LIMIT, f"email/{name} scores {verdict.score}: {verdict.rules}"
    assert not [r for r in verdict.rules if r.startswith("HTML_IMAGE_ONLY")], verdict.rules
