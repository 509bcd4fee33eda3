#!/usr/bin/env python3
"""Strict parser for the Prometheus text exposition format 0.0.4, plus omr-trackerd's naming
rules. Used by metrics_test.sh; stdlib only.

  promparse.py FILE        parse FILE ('-': stdin); print one JSON object per sample
                           ({"name", "labels", "value"}) on success, exit 0; on the first
                           problem print "LINE N: what is wrong" to stderr and exit 1.

Rules (stricter than Prometheus itself where our output has no reason to differ):
- UTF-8, lines end in LF (the last one too), no CR, no blank lines;
- comments are only "# HELP name text" and "# TYPE name type", each at most once per family,
  before that family's first sample; HELP text escapes only \\\\ and \\n;
- TYPE is counter or gauge (we emit nothing else); every sample's family has HELP and TYPE;
- families are contiguous: once another family started, an earlier one never comes back;
- metric names [a-zA-Z_:][a-zA-Z0-9_:]*, prefixed omrt_; counters end in _total;
- labels {name="value",...}: names [a-zA-Z_][a-zA-Z0-9_]* not starting with __, no
  duplicates; values double-quoted with only \\\\, \\" and \\n escapes, valid UTF-8;
- value: a Go float (digits, exponent, NaN, +Inf, -Inf); no timestamps;
- counters and gauges are finite; counters are >= 0;
- no two samples with the same name and label set.
"""
import json
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)\Z")


class Bad(Exception):
    pass


def unescape(s, allowed, where):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise Bad(f"bad escape in {where}: {s[i:i + 2]!r}")
            out.append({"\\": "\\", "n": "\n", '"': '"'}[s[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(s, pos, line):
    """s[pos] == '{'; returns (labels, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if pos < len(s) and s[pos] == "}":
            return labels, pos + 1
        m = LABEL.match(s, pos)
        if not m:
            raise Bad(f"bad label name at column {pos + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise Bad(f"reserved label name {name}")
        if name in labels:
            raise Bad(f"duplicate label {name}")
        pos = m.end()
        if s[pos:pos + 2] != '="':
            raise Bad(f"expected '=\"' after label {name}")
        pos += 2
        start = pos
        while pos < len(s) and s[pos] != '"':
            pos += 2 if s[pos] == "\\" else 1
        if pos >= len(s):
            raise Bad(f"unterminated value of label {name}")
        labels[name] = unescape(s[start:pos], '\\"n', f"label {name}")
        pos += 1
        if pos < len(s) and s[pos] == ",":
            pos += 1
        elif pos < len(s) and s[pos] != "}":
            raise Bad(f"expected ',' or '}}' after label {name}")


def parse(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Bad(f"not UTF-8: {e}") from None
    if not text:
        raise Bad("empty exposition")
    if not text.endswith("\n"):
        raise Bad("the last line does not end in a line feed")
    if "\r" in text:
        raise Bad("carriage return")
    helps, types, seen_series, samples = {}, {}, set(), []
    current, finished = None, set()

    def enter(family, n):
        nonlocal current
        if family != current:
            if family in finished:
                raise Bad(f"family {family} is not contiguous")
            if current is not None:
                finished.add(current)
            current = family

    for n, line in enumerate(text[:-1].split("\n"), 1):
        try:
            if line == "":
                raise Bad("blank line")
            if line.startswith("#"):
                m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
                if not m:
                    raise Bad("a comment that is neither HELP nor TYPE")
                kind, name, rest = m.groups()
                if not NAME.fullmatch(name):
                    raise Bad(f"bad metric name {name!r}")
                enter(name, n)
                if any(s["name"] == name for s in samples):
                    raise Bad(f"{kind} of {name} after its samples")
                table = helps if kind == "HELP" else types
                if name in table:
                    raise Bad(f"second {kind} for {name}")
                if kind == "HELP":
                    helps[name] = unescape(rest, "\\n", "HELP")
                else:
                    if rest not in ("counter", "gauge"):
                        raise Bad(f"TYPE {rest!r} (counter or gauge expected)")
                    types[name] = rest
                continue
            m = NAME.match(line)
            if not m:
                raise Bad("a sample must start with a metric name")
            name, pos = m.group(0), m.end()
            labels = {}
            if pos < len(line) and line[pos] == "{":
                labels, pos = parse_labels(line, pos, n)
            if pos >= len(line) or line[pos] != " ":
                raise Bad("expected one space before the value")
            value_text = line[pos + 1:]
            if " " in value_text:
                raise Bad("timestamps or extra fields are not expected")
            if not FLOAT.match(value_text):
                raise Bad(f"bad value {value_text!r}")
            value = float(value_text)
            enter(name, n)
            if name not in helps or name not in types:
                raise Bad(f"sample of {name} without HELP and TYPE before it")
            if not name.startswith("omrt_"):
                raise Bad(f"{name} lacks the omrt_ prefix")
            t = types[name]
            if not math.isfinite(value):
                raise Bad(f"{t} {name} is not finite: {value_text}")
            if t == "counter":
                if not name.endswith("_total"):
                    raise Bad(f"counter {name} does not end in _total")
                if value < 0:
                    raise Bad(f"counter {name} is negative")
            elif name.endswith("_total"):
                raise Bad(f"gauge {name} ends in _total")
            key = (name, tuple(sorted(labels.items())))
            if key in seen_series:
                raise Bad(f"duplicate series {name}{labels}")
            seen_series.add(key)
            samples.append({"name": name, "labels": labels, "value": value})
        except Bad as e:
            raise Bad(f"LINE {n}: {e}: {line!r}") from None
    for name in set(helps) | set(types):
        if not any(s["name"] == name for s in samples):
            raise Bad(f"family {name} has no samples")
    return samples


GOOD = (
    "# HELP omrt_a_total A counter, with \\\\ and \\n escapes\n"
    "# TYPE omrt_a_total counter\n"
    'omrt_a_total{x="q\\"b\\\\s\\nn",y="\u00e9"} 3\n'
    'omrt_a_total{x="other"} 0\n'
    "# HELP omrt_b_seconds A gauge\n"
    "# TYPE omrt_b_seconds gauge\n"
    "omrt_b_seconds 1.5e-3\n"
)

# Each must be refused (what it breaks is in the comment).
BAD = [
    GOOD[:-1],  # no final line feed
    GOOD.replace("omrt_b_seconds 1.5e-3", "omrt_b_seconds 1.5e-3 1700000000"),  # timestamp
    GOOD + "\n",  # blank line
    GOOD.replace("# TYPE omrt_b_seconds gauge\n", ""),  # no TYPE
    GOOD.replace("# HELP omrt_b_seconds A gauge\n", ""),  # no HELP
    GOOD + 'omrt_a_total{x="late"} 1\n',  # family not contiguous
    GOOD.replace('{x="other"} 0', '{x="q\\"b\\\\s\\nn",y="\u00e9"} 0'),  # duplicate
    GOOD.replace('{x="other"} 0', '{y="\u00e9",x="q\\"b\\\\s\\nn"} 0'),  # same, reordered
    GOOD.replace('{x="other"} 0', '{x="other"} -1'),  # negative counter
    GOOD.replace("omrt_b_seconds 1.5e-3", "omrt_b_seconds NaN"),  # not finite
    GOOD.replace("omrt_b_seconds 1.5e-3", "omrt_b_seconds 1,5"),  # bad float
    GOOD.replace('x="other"', 'x="a\\tb"'),  # unknown escape
    GOOD.replace('x="other"', 'x="other",x="again"'),  # duplicate label
    GOOD.replace('x="other"', '__x="other"'),  # reserved label name
    GOOD.replace('x="other"', 'x=other'),  # unquoted
    GOOD.replace('{x="other"} 0', '{x="other"}  0'),  # two spaces
    GOOD.replace("counter\n", "summary\n", 1),  # a type we do not emit
    GOOD.replace("omrt_a_total", "omrt_a"),  # counter without _total
    GOOD.replace("omrt_b_seconds", "other_b_seconds"),  # no omrt_ prefix
    GOOD.replace("# TYPE omrt_b_seconds gauge\n", "# TYPE omrt_b_seconds gauge\n"
                 "# TYPE omrt_b_seconds gauge\n"),  # second TYPE
    GOOD + "# some comment\n",  # other comment
    GOOD.replace("\n", "\r\n"),  # CRLF
    GOOD + "# HELP omrt_c Empty\n# TYPE omrt_c gauge\n",  # family without samples
]


def self_test():
    parse(GOOD.encode())
    bad_utf8 = GOOD.encode().replace(b"other", b"oth\xffer")
    for i, b in enumerate(BAD + [bad_utf8]):
        try:
            parse(b if isinstance(b, bytes) else b.encode())
        except Bad:
            continue
        print(f"self-test: bad exposition #{i} was accepted:\n{b}", file=sys.stderr)
        return 1
    print(f"self-test: 1 good and {len(BAD) + 1} bad expositions judged right")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    path = sys.argv[1] if len(sys.argv) > 1 else "-"
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    try:
        samples = parse(data)
    except Bad as e:
        print(e, file=sys.stderr)
        return 1
    for s in samples:
        print(json.dumps(s, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
