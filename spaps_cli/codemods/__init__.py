"""``spaps migrate``: libcst codemods that move services onto spaps_server_quickstart.

``runner`` walks, pre-filters, parses once and runs the selected codemods; ``base`` is the
codemod contract; ``registry`` the ordered list; ``report`` the summary and follow-ups; one
module per codemod. Nothing here is imported by ``spaps --help``.
"""
