"""JUnit-style XML, as written by pytest, Maven Surefire, CTest, Node's test runner,
googletest, gotestsum and many others.

The file is parsed by ``defusedxml``'s parser (a DTD, entity declarations and external
entities are refused, never expanded). Elements are streamed into handlers that keep one
small node tree per ``<testcase>`` at a time, so a file with 100,000 testcases never
becomes a full element tree, and every testcase knows its line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import ParseError as XMLSyntaxError
from xml.parsers import expat

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser

from .base import (
    BUILD_FIELDS,
    MAX_DEPTH,
    MAX_SECONDS,
    STATUS_RANK,
    BuildInfo,
    OutOfRange,
    ParsedFile,
    ParsedResult,
    ParseError,
    check_time,
    identity,
    parse_iso_datetime,
    parse_seconds,
)
from .messages import failure_message

RERUN_TAGS = frozenset({"rerunFailure", "rerunError", "flakyFailure", "flakyError"})
OUTPUT_TAGS = frozenset({"system-out", "system-err"})
# Elements inside a <testcase> that we read; anything else there is skipped whole.
_CASE_CHILD_TAGS = (
    frozenset({"failure", "error", "skipped", "stackTrace", "properties", "property"})
    | RERUN_TAGS
    | OUTPUT_TAGS
)

# <testcase> attributes that mean something to us; any other attribute (googletest's
# value_param/type_param, pytest's record_xml_attribute, ...) becomes a TDA.
_CASE_ATTRIBUTES = frozenset(
    {"name", "classname", "time", "file", "line", "status", "result", "timestamp", "failure"}
)
_SKIP_STATUSES = frozenset({"notrun", "disabled", "skipped", "skip", "ignored"})
_FAIL_STATUSES = frozenset({"fail", "failed", "failure"})
_ERROR_STATUSES = frozenset({"error", "errored"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Suite <property> names that describe the build (docs/import-formats.md). Surefire copies
# every Java system property into <properties>, so only these names count: the build's
# fields (bare or with `assay.`), `assay.KEY` as the attribute KEY, `ci.KEY` as `ci.KEY`.
_BUILD_PROPERTIES = {name: name for name in BUILD_FIELDS} | {
    f"assay.{name}": name for name in BUILD_FIELDS
}


def _build_property(name: str) -> tuple[str, str] | None:
    """("field", name) or ("attribute", key) for a suite property that describes the build."""
    if name in _BUILD_PROPERTIES:
        return "field", _BUILD_PROPERTIES[name]
    if name.startswith("assay.") and len(name) > 6:
        return "attribute", name[6:]
    if name.startswith("ci.") and len(name) > 3:
        return "attribute", name
    return None


# Node's reporter ends the file with comments like "<!-- tests 76 -->".
_NODE_SUMMARY_RE = re.compile(r"\s*(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ")

TEST_RUNNERS = {
    "pytest-xunit1": "pytest",
    "pytest-xunit2": "pytest",
    "surefire": "surefire",
    "ctest": "ctest",
    "node": "node",
    "googletest": "googletest",
    "gotestsum": "gotestsum",
    "generic": "",
}


@dataclass(slots=True)
class _Suite:
    """An open <testsuite(s)>, and what was inherited before it (restored at its end)."""

    depth: int
    named: bool  # its name is part of test names (<testsuites>' "AllTests" is not)
    outer_host: str | None
    outer_time: datetime | None


@dataclass(slots=True)
class _Node:
    tag: str
    attrib: dict[str, str]
    text: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)

    def text_value(self) -> str:
        return "".join(self.text)

    def find(self, tag: str) -> _Node | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None


@dataclass(slots=True)
class _Naming:
    """What a testcase's name is made from; the rules depend on the flavour."""

    line: int
    classname: str | None
    name: str
    suites: tuple[str, ...]  # names of the enclosing <testsuite>s, outermost first


def _local(name: str) -> str:
    """Drop a namespace: expat gives namespaced names as ``uri}local``."""
    return name.rpartition("}")[2] if "}" in name else name


class _Handlers:
    """expat callbacks: read suites and testcases, turn each testcase into a result."""

    def __init__(self, filename: str, max_depth: int):
        self.filename = filename
        self.max_depth = max_depth
        self.parser: expat.XMLParserType | None = None  # set once the parser exists
        self.depth = 0
        self.root: str | None = None
        self.root_attrib: dict[str, str] = {}
        # What testcases inherit from their enclosing suites, kept as stacks: a push or pop
        # costs the same at any depth (recomputing it per suite was quadratic in the depth).
        self.suites: list[_Suite] = []
        self.suite_name_list: list[str] = []
        self.suite_names: tuple[str, ...] | None = ()  # the list as a tuple; None: redo
        self.suite_host: str | None = None
        self.suite_time: datetime | None = None
        self.case_stack: list[_Node] | None = None  # open elements of the current testcase
        self.case_line = 0
        self.skip_depth = 0  # > 0 while inside an element of a testcase we don't read
        self.results: list[ParsedResult] = []
        self.naming: list[_Naming] = []
        self.node_rework: list[tuple[int, _Node]] = []  # see _finish
        # Evidence of the tool that wrote the file.
        self.go_version = False
        self.node_summary = False
        self.node_failure_attribute = False
        self.surefire = False
        self.gtest_result = False
        self.any_file_or_line = False
        self.pytest_skip = False
        self.all_ctest_like = True
        # The build's fields and attributes from suite properties: (value, line) each.
        self.build: dict[tuple[str, str], tuple[str, int | None]] = {}

    def line(self) -> int | None:
        return self.parser.CurrentLineNumber if self.parser is not None else None

    def error(self, message: str, line: int | None = None) -> ParseError:
        return ParseError(self.filename, self.line() if line is None else line, message)

    # -- expat handlers ---------------------------------------------------------------

    def start(self, raw_tag: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error(
                f"XML elements nested more than {self.max_depth} deep: refused (the limit is "
                "setting ASSAY_MAX_XML_DEPTH)"
            )
        tag = _local(raw_tag)
        stack = self.case_stack
        if stack is not None:
            if self.skip_depth or tag not in _CASE_CHILD_TAGS:
                self.skip_depth += 1
                return
            node = _Node(tag, attributes)
            stack[-1].children.append(node)
            stack.append(node)
            if tag in RERUN_TAGS:
                self.surefire = True
            return
        attrib = attributes
        if self.root is None:
            if tag not in ("testsuites", "testsuite"):
                raise self.error(
                    f"root element is <{tag}>: a JUnit XML file starts with <testsuites> "
                    "or <testsuite>"
                )
            self.root = tag
            self.root_attrib = attrib
            if any("surefire" in value for value in attrib.values()):
                self.surefire = True  # xsi:noNamespaceSchemaLocation=".../surefire-..."
        if tag == "testcase":
            self.case_line = self.line()
            self.case_stack = [_Node(tag, attrib)]
        elif tag in ("testsuite", "testsuites"):
            name = attrib.get("name")
            named = bool(name) and tag == "testsuite"
            self.suites.append(_Suite(self.depth, named, self.suite_host, self.suite_time))
            if named:
                self.suite_name_list.append(name)
                self.suite_names = None
            self.suite_host = attrib.get("hostname") or self.suite_host
            self.suite_time = self.timestamp(attrib.get("timestamp"), tag) or self.suite_time
        elif tag == "property":  # of a suite
            name = attrib.get("name", "")
            if name == "go.version":
                self.go_version = True
            elif "surefire" in name or "surefire" in attrib.get("value", ""):
                self.surefire = True  # Surefire copies the JVM's system properties here
            elif (kind := _build_property(name)) is not None:
                self.build_property(kind, attrib.get("value", ""))

    def build_property(self, kind: tuple[str, str], value: str) -> None:
        """The same field in two suites must agree: the file is one build."""
        earlier = self.build.get(kind)
        if earlier is not None and earlier[0] != value:
            raise self.error(
                f"property {kind[1]!r} is {value!r} here and {earlier[0]!r} on line "
                f"{earlier[1]}: one file is one build"
            )
        self.build[kind] = (value, self.line())

    def build_info(self) -> BuildInfo:
        fields: dict = {}
        attributes: dict[str, str] = {}
        for (kind, name), (value, line) in self.build.items():
            if kind == "attribute":
                attributes[name] = value
            elif name in ("started_at", "ended_at"):
                try:
                    fields[name] = parse_iso_datetime(value)
                except ValueError:
                    raise self.error(
                        f"property {name!r}: {value!r} is not an ISO 8601 date-time", line
                    ) from None
            else:
                fields[name] = value
        return BuildInfo(**fields, attributes=attributes)

    def end(self, raw_tag: str) -> None:
        stack = self.case_stack
        if stack is not None:
            if self.skip_depth:
                self.skip_depth -= 1
            elif len(stack) > 1:
                stack.pop()
            else:
                self.case_stack = None
                self.end_case(stack[0])
        elif self.suites and self.suites[-1].depth == self.depth:
            suite = self.suites.pop()
            if suite.named:
                self.suite_name_list.pop()
                self.suite_names = None
            self.suite_host, self.suite_time = suite.outer_host, suite.outer_time
        self.depth -= 1

    def data(self, text: str) -> None:
        stack = self.case_stack
        if stack is not None and not self.skip_depth and len(stack) > 1:
            stack[-1].text.append(text)

    def comment(self, text: str) -> None:
        if self.depth == 1 and _NODE_SUMMARY_RE.match(text):
            self.node_summary = True

    def close(self) -> None:
        """Called by the ElementTree parser at the end (it expects a tree builder)."""

    # -- suites and testcases ---------------------------------------------------------

    def timestamp(self, raw: str | None, where: str, line: int | None = None) -> datetime | None:
        if raw is None or not raw.strip():
            return None
        try:
            value = parse_iso_datetime(raw, check_range=False)
        except ValueError:
            raise self.error(f"invalid timestamp {raw!r} on <{where}>", line) from None
        # googletest writes 1970-01-01T00:00:00 for tests that never ran; Go's zero time
        # is the year 1.
        if value <= _EPOCH:
            return None
        try:
            return check_time(value)
        except OutOfRange as exc:
            raise self.error(f"timestamp {raw!r} on <{where}> is {exc}", line) from None

    def end_case(self, case: _Node) -> None:
        attrib = case.attrib
        line = self.case_line
        name = attrib.get("name")
        if name is None:
            raise self.error("<testcase> without a name attribute", line)
        duration = None
        raw_time = attrib.get("time")
        if raw_time:
            try:
                duration = float(raw_time)  # fast path; parse_seconds handles the rest
                if not 0 <= duration <= MAX_SECONDS:
                    raise ValueError
            except ValueError:
                try:
                    duration = parse_seconds(raw_time) if raw_time.strip() else None
                except OutOfRange as exc:
                    raise self.error(
                        f"time {raw_time!r} on <testcase name={name!r}> is {exc}", line
                    ) from None
                except ValueError:
                    raise self.error(
                        f"invalid time {raw_time!r} on <testcase name={name!r}>", line
                    ) from None
        if "timestamp" in attrib:
            start_time = self.timestamp(attrib["timestamp"], "testcase", line)
        else:
            start_time = self.suite_time

        status = attrib.get("status")
        if status is None or (attrib.get("classname") != name):
            self.all_ctest_like = False
        if "result" in attrib:
            self.gtest_result = True
        if "failure" in attrib:
            self.node_failure_attribute = True
        if "file" in attrib or "line" in attrib:
            self.any_file_or_line = True

        result = _case_result(case, flavour="")
        result.host = self.suite_host
        result.start_time = start_time
        result.duration = duration
        if case.children:
            for node in case.children:
                if node.tag != "skipped":
                    continue
                if node.attrib.get("type", "").startswith("pytest."):
                    self.pytest_skip = True
                # Node's reporter writes <skipped message="true"> for t.skip() without a
                # reason, and both <skipped> and <failure> for skip/todo tests that threw
                # anyway; if this turns out to be a Node file, _finish redoes these.
                if result.status in ("F", "E") or node.attrib.get("message") == "true":
                    self.node_rework.append((len(self.results), case))
                    break
        self.results.append(result)
        if self.suite_names is None:
            self.suite_names = tuple(self.suite_name_list)
        self.naming.append(_Naming(line, attrib.get("classname"), name, self.suite_names))


def parse_junit(
    data: bytes | Iterable[bytes], filename: str, max_depth: int = MAX_DEPTH
) -> ParsedFile:
    """Parse JUnit XML given as bytes (so that an XML encoding declaration is honoured), whole
    or as chunks read one after the other (the file is then never held whole).

    Elements nested more than ``max_depth`` deep are refused."""
    handlers = _Handlers(filename, max_depth)
    parser = DefusedXMLParser(
        target=handlers, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    expat_parser = handlers.parser = parser.parser
    # defusedxml has installed its guards (doctype, entity declarations, external
    # references) on the expat parser. We take over the element callbacks from
    # ElementTree's pure-Python wrappers, which would double the cost of parsing.
    expat_parser.StartElementHandler = handlers.start
    expat_parser.EndElementHandler = handlers.end
    expat_parser.CharacterDataHandler = handlers.data
    expat_parser.CommentHandler = handlers.comment
    # Attributes as a dict made by expat, not a list for start() to pair up in Python.
    expat_parser.ordered_attributes = False
    try:
        return _parse(parser, handlers, data, filename)
    finally:
        # The expat parser holds the handlers' methods and they hold it: freed at once, not
        # left to the collector (a scan of every testcase's naming, a tenth of an import).
        handlers.parser = None
        # ElementTree's parser lets go of its expat parser in close(), which a file refused
        # midway never reaches.
        if hasattr(parser, "_parser"):
            del parser.parser, parser._parser


def _parse(
    parser: DefusedXMLParser, handlers: _Handlers, data: bytes | Iterable[bytes], filename: str
) -> ParsedFile:
    try:
        for chunk in [data] if isinstance(data, bytes) else data:
            parser.feed(chunk)
        parser.close()
    except XMLSyntaxError as exc:
        position = getattr(exc, "position", None)
        code = getattr(exc, "code", None)
        reason = expat.ErrorString(code) if code else str(exc)
        # ElementTree's frame that raised it holds it: a cycle that would keep the parse's
        # results for the collector.
        exc.__traceback__ = None
        raise ParseError(
            filename, position[0] if position else None, f"malformed XML: {reason}"
        ) from None
    except DTDForbidden:
        raise ParseError(
            filename,
            handlers.line(),
            "a DTD (<!DOCTYPE ...>) is not allowed in a JUnit XML file",
        ) from None
    except EntitiesForbidden:
        raise ParseError(
            filename, handlers.line(), "XML entity declarations are not allowed"
        ) from None
    except DefusedXmlException:
        raise ParseError(
            filename, handlers.line(), "external XML entities are not allowed"
        ) from None
    flavour = _flavour(handlers)
    results, warnings = _finish(handlers, flavour, filename)
    if not results:
        raise ParseError(filename, None, "no test results found (no <testcase> elements)")
    return ParsedFile(
        format="junit", flavour=flavour, results=results, warnings=warnings,
        build=handlers.build_info(),
    )  # fmt: skip


# -- flavours ---------------------------------------------------------------------------


def _flavour(h: _Handlers) -> str:
    if h.gtest_result or h.root == "testsuites" and h.root_attrib.get("name") == "AllTests":
        return "googletest"
    if h.root == "testsuite" and h.results and h.all_ctest_like:
        return "ctest"  # status="run|fail|notrun|disabled" and classname == name
    if h.surefire:
        return "surefire"
    if h.go_version:
        return "gotestsum"
    if h.node_summary or h.node_failure_attribute:
        return "node"
    if h.pytest_skip or any(n.suites[:1] == ("pytest",) for n in h.naming):
        return "pytest-xunit1" if h.any_file_or_line else "pytest-xunit2"
    return "generic"


def _dotted(part: str) -> str:
    """A package path (``github.com/org/pkg``) as dots; prose is left alone."""
    if "/" in part and not any(char.isspace() for char in part):
        part = ".".join(piece for piece in part.split("/") if piece)
    return part


def _test_name(naming: _Naming, flavour: str) -> str:
    classname = naming.classname
    if flavour == "node" and classname == "test":
        classname = None  # Node writes classname="test" for every test
    elif flavour == "gotestsum" and not classname:
        classname = None  # TestMain failures have classname="": use the package
    if classname is None:
        prefix = ".".join(_dotted(name) for name in naming.suites)
    elif classname == naming.name:
        prefix = ""
    else:
        prefix = _dotted(classname).strip(".")
    if prefix and naming.name:
        return f"{prefix}.{naming.name}"
    return prefix or naming.name


def _finish(h: _Handlers, flavour: str, filename: str) -> tuple[list[ParsedResult], list[str]]:
    """Name the results, apply per-flavour rules, merge repeated testcases."""
    if flavour == "node":
        for index, case in h.node_rework:
            old = h.results[index]
            new = _case_result(case, flavour)
            new.host, new.start_time, new.duration = old.host, old.start_time, old.duration
            h.results[index] = new
    runner = TEST_RUNNERS[flavour]
    results: list[ParsedResult] = []
    warnings: list[str] = []
    by_identity: dict[tuple, int] = {}  # -> its index in results
    for result, naming in zip(h.results, h.naming, strict=True):
        result.test_name = _test_name(naming, flavour)
        if not result.test_name:
            raise ParseError(filename, naming.line, "<testcase> with an empty name")
        result.test_runner = runner
        key = identity(result)
        index = by_identity.get(key)
        earlier = None if index is None else results[index]
        if earlier is None:
            by_identity[key] = len(results)
            results.append(result)
        elif runner == "pytest" and _is_rerun_attempt(earlier, result):
            # pytest-rerunfailures: pytest's junitxml writes nothing of a rerun report, so
            # each failed attempt is an empty <testcase> before the final one.
            result.retries = earlier.retries + 1
            result.duration = (earlier.duration or 0.0) + (result.duration or 0.0)
            result.start_time = earlier.start_time or result.start_time
            results[index] = result
        else:
            _merge(earlier, result)
            warnings.append(
                f"line {naming.line}: {result.test_name!r} appears more than once; "
                "merged into one result (worst status wins)"
            )
    return results, warnings


# -- results ----------------------------------------------------------------------------


def _section(label: str, body: str, headline: str = "") -> str:
    """``[label] headline`` followed by the body, without surrounding blank lines."""
    body = body.strip("\n").rstrip()
    head = f"[{label}] {headline}".rstrip()
    return f"{head}\n{body}" if body else head


def _problem_section(node: _Node) -> str:
    """A failure/error/skipped/rerun element as a labelled log section."""
    kind = node.attrib.get("type", "")
    message = node.attrib.get("message", "").strip()
    body = node.text_value()
    trace = node.find("stackTrace")  # Surefire nests it in rerun/flaky elements
    if trace is not None:
        body = f"{body.strip()}\n{trace.text_value()}" if body.strip() else trace.text_value()
    if message and message in body:
        message = ""  # googletest and Node repeat the message in the text
    headline = f"{kind}: {message}" if kind and message else kind or message
    sections = [_section(node.tag, body, headline)]
    for child in node.children:
        if child.tag in OUTPUT_TAGS and child.text_value().strip():
            sections.append(_section(f"{node.tag} {child.tag}", child.text_value()))
    return "\n\n".join(sections)


def _attribute_status(attrib: dict[str, str]) -> str:
    """Status of a testcase without failure/error/skipped elements."""
    status_attr = attrib.get("status", "").lower()
    if status_attr in _SKIP_STATUSES or attrib.get("result", "").lower() in (
        "skipped",
        "suppressed",
    ):
        return "D"
    if status_attr in _FAIL_STATUSES:
        return "F"
    if status_attr in _ERROR_STATUSES:
        return "E"
    return "P"


def _extra_attributes(attrib: dict[str, str], tda: dict[str, str], tra: dict[str, str]) -> None:
    """Testcase attributes we don't interpret become TDAs (``assertions`` a TRA)."""
    for key in attrib.keys() - _CASE_ATTRIBUTES:
        local = _local(key)
        if local in _CASE_ATTRIBUTES:
            continue
        if local == "assertions":
            tra[local] = attrib[key]
        else:
            tda.setdefault(local, attrib[key])
    if attrib.get("line"):
        tda.setdefault("line", attrib["line"])


def _case_result(case: _Node, flavour: str) -> ParsedResult:
    """Status, log and attributes of one testcase (name, host and times come later)."""
    attrib = case.attrib
    tda: dict[str, str] = {}
    tra: dict[str, str] = {}
    if "line" in attrib or attrib.keys() - _CASE_ATTRIBUTES:
        _extra_attributes(attrib, tda, tra)
    if not case.children:  # the common case: a test that passed and printed nothing
        return ParsedResult(
            test_name="",
            status=_attribute_status(attrib),
            location=attrib.get("file", ""),
            tda=tda,
            tra=tra,
        )

    failures: list[_Node] = []
    errors: list[_Node] = []
    skips: list[_Node] = []
    reruns: list[_Node] = []
    outputs: list[_Node] = []
    for node in case.children:
        tag = node.tag
        if tag == "failure":
            failures.append(node)
        elif tag == "error":
            errors.append(node)
        elif tag == "skipped":
            skips.append(node)
        elif tag in RERUN_TAGS:
            reruns.append(node)
        elif tag in OUTPUT_TAGS:
            outputs.append(node)
        elif tag == "properties":
            for prop in node.children:
                if prop.tag == "property" and prop.attrib.get("name"):
                    value = prop.attrib.get("value")
                    tda[prop.attrib["name"]] = prop.text_value() if value is None else value

    if flavour == "node":
        for node in skips:
            if node.attrib.get("message") == "true":  # t.skip() without a reason
                node.attrib = {**node.attrib, "message": ""}

    deciding: _Node | None = None
    reason = ""
    if skips and flavour == "node":
        status, deciding = "D", skips[0]
    elif failures:
        status, deciding = "F", failures[0]
    elif errors:
        status, deciding = "E", errors[0]
    elif skips:
        status, deciding = "D", skips[0]
    else:
        status = _attribute_status(attrib)

    if deciding is not None:
        message = deciding.attrib.get("message", "")
        kind = deciding.attrib.get("type", "")
        if not message and deciding.tag != "skipped":
            # No message attribute (jest-junit, Ant): use the first line of the text.
            lines = (line.strip() for line in deciding.text_value().splitlines())
            message = next((line for line in lines if line), "")
        if message:
            tra["message"] = message
            if deciding.tag != "skipped":
                reason = failure_message(status, message)
        if kind:
            tra["skip_type" if deciding.tag == "skipped" else "failure_type"] = kind
    if reruns:
        tra["reruns"] = str(len(reruns))
        if status == "P" and any(node.tag.startswith("flaky") for node in reruns):
            tra["flaky"] = "true"  # failed at first, passed on a rerun (Surefire)

    # The element that decided the status first, then the others, the testcase's own
    # output (Surefire: the first run's), then the reruns with their output.
    problems = failures + errors + skips
    if deciding is not None:
        problems.remove(deciding)
        problems.insert(0, deciding)
    sections = [_problem_section(node) for node in problems]
    sections += [
        _section(node.tag, node.text_value()) for node in outputs if node.text_value().strip()
    ]
    sections += [_problem_section(node) for node in reruns]
    return ParsedResult(
        test_name="",
        status=status,
        location=attrib.get("file", ""),
        log="\n\n".join(sections),
        tda=tda,
        tra=tra,
        # Surefire: one element per failed attempt before the final one (flaky* when the
        # final one passed, rerun* when it failed too).
        retries=len(reruns),
        message=reason,
    )


def _is_rerun_attempt(earlier: ParsedResult, later: ParsedResult) -> bool:
    """An empty passing <testcase> followed by another of the same test: a rerun, unless the
    later one is pytest's own record of a teardown error (kept by _merge)."""
    if earlier.status != "P" or earlier.log or earlier.tra:
        return False
    message = later.tra.get("message") or getattr(later, "message", "") or ""
    return not message.startswith("failed on teardown")


def _merge(into: ParsedResult, other: ParsedResult) -> None:
    """Fold a repeated testcase into the first one: worst status wins, logs are joined."""
    if STATUS_RANK.get(other.status, 0) > STATUS_RANK.get(into.status, 0):
        into.status = other.status
        into.tra = {**into.tra, **other.tra}
        into.message = other.message or into.message
    else:
        into.tra = {**other.tra, **into.tra}
        into.message = into.message or other.message
    if other.duration is not None:
        into.duration = (into.duration or 0.0) + other.duration
    if other.start_time and (into.start_time is None or other.start_time < into.start_time):
        into.start_time = other.start_time
    into.location = into.location or other.location
    into.tda = {**other.tda, **into.tda}
    if other.log:
        into.log = f"{into.log}\n\n[repeated testcase]\n{other.log}" if into.log else other.log
