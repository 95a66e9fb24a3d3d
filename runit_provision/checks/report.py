"""checks: verify's outcomes as JUnit XML, as pytest writes it (for CI), and the counts of
each status every report carries. Pure: the cli writes the file, and prints the terminal's
report and the JSON (cli/verify.py).
"""

import socket
import time
from xml.etree import ElementTree

def counts(outcomes):
    """{status: how many outcomes have it}, of those present."""
    found = {}
    for outcome in outcomes:
        found[outcome.status] = found.get(outcome.status, 0) + 1
    return found


def junit_xml(outcomes, seconds):
    """JUnit XML as pytest writes it (``xunit2``), as bytes: one testsuite, a testcase per
    check with ``classname`` ``HOST.GROUP`` and ``name`` the check, failures with every
    problem."""
    found = counts(outcomes)
    suite = ElementTree.Element("testsuite", {
        "name": "runit-provision verify", "errors": str(found.get("error", 0)),
        "failures": str(found.get("failed", 0)), "skipped": str(found.get("skipped", 0)),
        "tests": str(len(outcomes)), "time": "%.3f" % seconds,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"), "hostname": socket.gethostname()})
    for outcome in outcomes:
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": "%s.%s" % (outcome.host, outcome.check.group),
            "name": outcome.check.name, "time": "%.3f" % outcome.seconds})
        if outcome.status == "failed":
            element = ElementTree.SubElement(case, "failure", {
                "message": outcome.problems[0].split("\n")[0]})
            element.text = "\n".join(outcome.problems)
        elif outcome.status == "error":
            element = ElementTree.SubElement(case, "error", {"message": outcome.error})
            element.text = outcome.error
        elif outcome.status == "skipped":
            ElementTree.SubElement(case, "skipped", {"type": "pytest.skip",
                                                     "message": outcome.skipped})
    root = ElementTree.Element("testsuites")
    root.append(suite)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
