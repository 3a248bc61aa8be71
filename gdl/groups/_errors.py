"""Errors raised by the group / representation core."""


class GroupElementError(ValueError):
    """A tensor is not a valid batch of elements of the group it was given to."""


class FieldTypeError(ValueError):
    """A tensor does not match the field type (representation) it was declared with."""
