"""The walkthrough (the README's first command until the Django demo) runs and shows what it claims."""

from __future__ import annotations

from examples import walkthrough


def test_the_walkthrough_shows_isolation_debounce_retry_and_a_clean_shutdown() -> None:
    lines: list[str] = []
    result = walkthrough.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    assert result["sent"] == 3
    assert result["rebuilds"] == [[f"doc-{n}" for n in range(50)]], "the burst was not one rebuild with every doc"
    assert result["attempts"] == 3
    pools = result["snapshot"]["pools"]
    assert pools["site"]["succeeded"] == 25 and pools["general"]["retried"] == 2
    assert result["report"].complete
    assert any("1 rebuild with 50 documents" in line for line in lines)
