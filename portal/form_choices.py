"""Choices for WTForms select and radio fields, from (value, label) pairs.

WTForms 3.3 deprecates tuples as choices (they go in 3.4); its `SelectChoice` is what it wants. Lists of
pairs stay the handy form elsewhere (templates iterate them), so fields take them through `as_choices`.
"""

from wtforms.fields.choices import SelectChoice


def as_choices(pairs):
    """[(value, label), ...] -> [SelectChoice(value, label), ...]."""
    return [SelectChoice(value, label) for value, label in pairs]
