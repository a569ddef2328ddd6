from __future__ import annotations

from supporters.core.web import download


def test_download_is_an_attachment_by_default() -> None:
    response = download(b"a,b\n", mimetype="text/csv", filename="course-1.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=course-1.csv"
    assert response.get_data() == b"a,b\n"


def test_download_inline_is_shown_by_the_browser() -> None:
    response = download(b"%PDF", mimetype="application/pdf", filename="n.pdf", inline=True)
    assert response.headers["Content-Disposition"] == "inline; filename=n.pdf"
