"""Team trees walked in memory: the chain from a team up to the root."""

from __future__ import annotations

from salestrace.org.selectors import team_chain


def test_a_team_chain_runs_nearest_first_and_stops_at_a_cycle() -> None:
    parents = {1: None, 2: 1, 3: 2, 7: 8, 8: 7}
    assert team_chain(3, parents) == [3, 2, 1]
    assert team_chain(1, parents) == [1]
    assert team_chain(7, parents) == [7, 8]
    assert team_chain(99, parents) == []
