"""``spaps update``: carry a service from the template version it was generated with to a newer one.

``versions`` finds the template tree of every version the CLI ships, ``render`` renders a
service's recorded answers at one of them, ``text_merge``/``python_merge``/``toml_merge`` merge
one file three ways, and ``engine`` puts them together into a plan.
"""
