"""A strict reader of the Prometheus text exposition format 0.0.4, for tests:
it fails (AssertionError naming the line) on anything the format does not allow."""

import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
LABEL = rf"{LABEL_NAME}={LABEL_VALUE}"
VALUE = r"[+-]?(?:Inf|inf|NaN|nan|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.)"
SAMPLE_RE = re.compile(
    rf"^(?P<name>{NAME})(?:\{{(?P<labels>(?:{LABEL})(?:,{LABEL})*,?)?\}})? (?P<value>{VALUE})"
    rf"(?: (?P<ts>-?[0-9]+))?$")
LABEL_RE = re.compile(rf"({LABEL_NAME})=({LABEL_VALUE})")
HELP_RE = re.compile(rf"^# HELP (?P<name>{NAME}) (?P<doc>.*)$")
TYPE_RE = re.compile(rf"^# TYPE (?P<name>{NAME}) (?P<type>counter|gauge|histogram|summary|untyped)$")

SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def _unescape(v):
    v = v[1:-1]
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def _value(s):
    s2 = s.lower().lstrip("+")
    if s2 in ("inf",):
        return math.inf
    if s2 == "-inf":
        return -math.inf
    if s2 == "nan":
        return math.nan
    return float(s)


class Metrics:
    def __init__(self, text):
        self.text = text
        self.types = {}
        self.helps = {}
        self.samples = []  # (name, labels dict, value)
        self._parse()

    def _family_of(self, name):
        if name in self.types:
            return name
        for fam, typ in self.types.items():
            for suf in SUFFIXES.get(typ, ()):
                if suf and name == fam + suf:
                    return fam
        return None

    def _parse(self):
        assert self.text.endswith("\n"), "exposition must end with a newline"
        seen = set()
        sampled_families = set()
        current = None
        for n, line in enumerate(self.text.split("\n")[:-1], start=1):
            where = f"line {n}: {line!r}"
            if line.startswith("#"):
                m = HELP_RE.match(line)
                if m:
                    assert m["name"] not in self.helps, f"second HELP for {m['name']} at {where}"
                    self.helps[m["name"]] = m["doc"]
                    continue
                m = TYPE_RE.match(line)
                if m:
                    name = m["name"]
                    assert name not in self.types, f"second TYPE for {name} at {where}"
                    assert name not in sampled_families, f"TYPE after samples at {where}"
                    self.types[name] = m["type"]
                    current = name
                    continue
                assert not line.startswith("# HELP") and not line.startswith("# TYPE"), \
                    f"malformed HELP/TYPE {where}"
                continue
            assert line.strip() != "" or line == "", f"whitespace-only {where}"
            if line == "":
                continue
            m = SAMPLE_RE.match(line)
            assert m, f"malformed sample {where}"
            labels = {}
            if m["labels"]:
                for k, v in LABEL_RE.findall(m["labels"]):
                    assert k not in labels, f"label {k} twice at {where}"
                    labels[k] = _unescape(v)
            name = m["name"]
            fam = self._family_of(name)
            assert fam is not None, f"sample without a TYPE line at {where}"
            assert fam == current, f"sample of {fam} outside its family block at {where}"
            sampled_families.add(fam)
            key = (name, tuple(sorted(labels.items())))
            assert key not in seen, f"duplicate series at {where}"
            seen.add(key)
            self.samples.append((name, labels, _value(m["value"])))
        self._check_histograms()

    def _check_histograms(self):
        for fam, typ in self.types.items():
            if typ != "histogram":
                continue
            series = {}
            for name, labels, value in self.samples:
                if name not in (fam + "_bucket", fam + "_sum", fam + "_count"):
                    continue
                base = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                s = series.setdefault(base, {"buckets": [], "sum": None, "count": None})
                if name.endswith("_bucket"):
                    assert "le" in labels, f"{fam} bucket without le: {labels}"
                    s["buckets"].append((_value(labels["le"]), value))
                elif name.endswith("_sum"):
                    s["sum"] = value
                else:
                    s["count"] = value
            for base, s in series.items():
                b = sorted(s["buckets"])
                assert b and b[-1][0] == math.inf, f"{fam}{dict(base)} has no +Inf bucket"
                counts = [c for _, c in b]
                assert counts == sorted(counts), f"{fam}{dict(base)} buckets not cumulative"
                assert s["count"] is not None and s["sum"] is not None, \
                    f"{fam}{dict(base)} lacks _sum or _count"
                assert s["count"] == b[-1][1], f"{fam}{dict(base)}: _count != +Inf bucket"

    def get(self, name, **labels):
        """Sum of the samples of name whose labels include labels."""
        total = 0.0
        for n, lab, v in self.samples:
            if n == name and all(lab.get(k) == val for k, val in labels.items()):
                total += v
        return total

    def series(self, name):
        return [(lab, v) for n, lab, v in self.samples if n == name]

    def label_values(self):
        return [v for _, lab, _ in self.samples for v in lab.values()]
