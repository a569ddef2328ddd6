"""The PDF base layer every printed document uses: the embedded Japanese font, the checks of
text against it, line fitting and wrapping, and canvas helpers.

Pure functions, no Flask, request or database code, and nothing from a feature package: the
documents themselves live with their features (`certificates.pdf`, `training.pdf`,
`dispatch.pdf`, `reports.pdf`).

Text is drawn with one Japanese TrueType font (IPAexGothic by default, the file that the
``matplotlib-fontja`` package ships), embedded as a subset. Every text is checked against the
font's character map before anything is drawn: a character the font has no glyph for (such as
𠮷, U+20BB7) raises :class:`~supporters.pdf.errors.UnprintableTextError` instead of printing
an empty box. Long texts are broken with reportlab's ``wordWrap="CJK"``.
"""
