"""Request fields of the jobs API that DRF has no ready shape for."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from solver.limits import DEFAULT_HALT_THRESHOLD


# OpenAPI 3.0 spells an open bound as a boolean beside minimum / maximum (3.1's numeric form is not 3.0).
@extend_schema_field({"oneOf": [{"type": "boolean"},
                                {"type": "number", "minimum": 0, "exclusiveMinimum": True,
                                 "maximum": 1, "exclusiveMaximum": True}],
                      "nullable": True})
class HaltField(serializers.Field):
    """`halt`: true (the default threshold), a probability strictly between 0 and 1, or false / null (off)."""

    default_error_messages = {
        "invalid": "must be true, false, null or a number strictly between 0 and 1",
    }

    def to_internal_value(self, data):
        if data is True:
            return DEFAULT_HALT_THRESHOLD
        if data is False or data is None:
            return None
        if isinstance(data, (int, float)) and not isinstance(data, bool) and 0 < data < 1:
            return float(data)
        self.fail("invalid")

    def to_representation(self, value):
        return value
