"""Which tests are slow: `make test` runs the rest, `make torture` these (`pytest -m slow`);
CI runs both.

A test is slow when it is in `tests/torture/`, in one of SLOW_FILES or SLOW_TESTS, marked
`@pytest.mark.slow` itself, or a case of a sweep in SWEEPS other than the sample kept fast (every
Nth case, the first included, so that each kind of case still runs on every `make test` somewhere
along the sweep)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SLOW_FOLDERS = ("torture",)

# the demo is `make demo` itself, run again as a test
SLOW_FILES = ("e2e/test_e2e_demo.py", "sync/test_sync_state_machine.py",
              # `xsync watch` as a process of its own, stopped by SIGTERM or killed, restarted
              "e2e/test_e2e_watch.py", "e2e/test_e2e_watch_credits.py")

SLOW_TESTS = (
    "e2e/test_e2e_safety.py::test_killing_a_push_midway_and_running_it_again_loses_nothing_"
    "duplicates_nothing",
    "sync/test_sync_incremental.py::test_a_cycle_with_nothing_changed_reads_one_page_per_entity",
    "sync/test_sync_incremental.py::test_k_changes_on_each_side_fetch_no_record_xero_did_not_"
    "change",
    "xero/test_xero_connect_cli.py::test_two_processes_refresh_at_once",
    "xero/test_xero_sandbox.py::test_300_pages_at_60_a_minute_meet_no_429",
    # a run as a process of its own, killed (SIGKILL) while Xero holds its write
    "e2e/test_e2e_deposits.py::test_a_push_killed_at_the_allocation_never_applies_the_deposit_"
    "twice",
    "e2e/test_e2e_deposits.py::test_a_push_killed_at_the_prepayment_never_makes_a_second_one",
    "e2e/test_e2e_converge.py::test_an_update_left_pending_by_a_killed_run_is_settled_by_the_next",
    "e2e/test_e2e_doctor.py::test_writes_left_unanswered_by_a_killed_run_are_shown_until_a_sync_"
    "settles_them",
    # 300 generated quarters
    "reports/test_bas_causes.py::test_differences_sum_to_each_labels_difference",
)

# parametrized sweeps: test -> every how many cases one stays in the fast suite
SWEEPS = {
    "sync/test_sync_bad_inputs.py::test_a_bad_row_is_named_the_rest_syncs_and_it_syncs_once_"
    "fixed": 4,
    "e2e/test_e2e_trust_records.py::test_a_linked_draft_whose_line_cannot_be_read_is_left_"
    "alone_and_syncs_once_fixed": 3,
}


def _name(item: pytest.Item) -> tuple[str, str]:
    """The test's id relative to tests/, without and with its parameters."""
    path = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
    function = item.name.split("[", 1)[0]
    return f"{path}::{function}", path


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen: dict[str, int] = defaultdict(int)
    for item in items:
        try:
            test, path = _name(item)
        except ValueError:  # a test outside this folder (pytest given another path)
            continue
        slow = (path.split("/", 1)[0] in SLOW_FOLDERS or path in SLOW_FILES
                or test in SLOW_TESTS)
        if test in SWEEPS:
            slow = slow or seen[test] % SWEEPS[test] != 0
            seen[test] += 1
        if slow and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output is tested as it prints where no terminal says its width (a pipe, cron); a test
    that wants a width sets ``COLUMNS`` itself. Runners differ: pytest-xdist's workers, for
    one, inherit ``COLUMNS=80``."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(autouse=True)
def _no_os_keyring() -> Iterator[None]:
    """No test reads or writes the machine's keyring: every test starts with the keyring that
    fails, so tokens go to the workspace's ``tokens.json`` as on a server without one. Setting
    ``PYTHON_KEYRING_BACKEND`` alone is not enough: keyring picks its backend once per process,
    so a worker whose first keyring use came before the variable was set would keep that one.
    A test that wants a keyring of its own (``memory_keyring``) sets it after this."""
    import keyring
    from keyring.backends.fail import Keyring as Fail

    previous = keyring.get_keyring()
    keyring.set_keyring(Fail())
    yield
    keyring.set_keyring(previous)
