"""The API's JSON body parser: a body that is not a plain JSON object answers 400 saying what is wrong.

DRF's JSONParser passes some bodies on to a crash or to a message about Python: nesting deeper than the
decoder's recursion limit raises RecursionError (an HTML 500), a 5,000-digit integer trips Python's
int-conversion limit, 1e999 decodes to infinity, and an unpaired surrogate escape ("\\ud800") decodes to a
string that can be neither saved in PostgreSQL nor written back as UTF-8.
"""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

# No body of this API comes near these: an ARC task, the deepest, nests six levels, and its largest numbers
# are fitting budgets of a few thousand.
MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 20


class BodyError(ValueError):
    """What is wrong with a body, in words for the client."""


def _integer(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise BodyError(f"holds an integer of {digits:,} digits; at most {MAX_INTEGER_DIGITS} are allowed")
    return int(literal)


def _number(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise BodyError(f"holds the number {literal[:40]}, which is too large for a 64-bit float")
    return value


def _constant(name: str):
    raise BodyError(f"holds {name}, which is not JSON; numbers must be finite")


def _check_structure(value) -> None:
    """Refuse nesting past MAX_DEPTH and strings that are not Unicode text, without recursing."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BodyError(f"nests lists and objects deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BodyError("holds an unpaired surrogate escape (\\ud800-\\udfff), which is not a character") from None


def _decode(raw: bytes, encoding: str) -> dict:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise BodyError(f"is not valid {encoding}: byte {error.start + 1} is 0x{raw[error.start]:02x}") from None
    try:
        data = json.loads(text, parse_int=_integer, parse_float=_number, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise BodyError(f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    except RecursionError:  # the decoder's own limit, far past MAX_DEPTH
        raise BodyError(f"nests lists and objects deeper than {MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise BodyError(f"must be a JSON object, not {type(data).__name__ if data is not None else 'null'}")
    _check_structure(data)
    return data


class StrictJSONParser(JSONParser):
    """JSONParser whose every refusal is a 400 `{"error": "body: ...", "detail": {"body": [...]}}`."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})  # refuses bytes-to-bytes codecs such as bz2_codec
        try:
            return _decode(stream.read(), encoding)
        except BodyError as error:
            raise ParseError({"body": [str(error)]}) from None
