"""fleet: PuppetDB's query API over HTTP(S) — the one edge of the fleet room.

``facts_named(url, name)`` asks ``/pdb/query/v4`` for one fact of every active node, with PQL
(``facts[certname, value] { name = "…" }``), and ``fact_times(url)`` when each node last sent
its facts (``nodes[certname, facts_timestamp] {}``), as ``puppet query`` does: plain HTTP on
PuppetDB's cleartext port, or HTTPS with the agent's certificate, key and the CA (the same
files ``puppet query`` takes from the agent's ``ssldir``). Standard library only.
"""

import json
import ssl
import urllib.error
import urllib.request

QUERY_PATH = "/pdb/query/v4"


class PuppetDBError(Exception):
    """PuppetDB could not be asked or did not answer with facts: the message says which."""


def url_problem(url):
    """Why ``url`` is not a PuppetDB base URL (``http://HOST[:PORT]`` or ``https://…``, a
    path prefix allowed), or None when it is one.

    >>> url_problem("http://127.0.0.1:8080"), url_problem("https://pdb.example.com:8081/x")
    (None, None)
    >>> url_problem("puppetdb.example.com")
    "'puppetdb.example.com' has no scheme: give http://HOST:8080 or https://HOST:8081"
    >>> url_problem("ftp://pdb")
    "'ftp://pdb': PuppetDB is asked over http:// or https://"
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # a port that is not a number raises here
    except ValueError as exc:
        return "%r is not a URL: %s" % (url, exc)
    if not parts.scheme or "://" not in url:
        return "%r has no scheme: give http://HOST:8080 or https://HOST:8081" % (url,)
    if parts.scheme not in ("http", "https"):
        return "%r: PuppetDB is asked over http:// or https://" % (url,)
    if not parts.hostname:
        return "%r names no host: give http://HOST:8080 or https://HOST:8081" % (url,)
    return None


def tls_context(cacert=None, cert=None, key=None):
    """An SSLContext that trusts ``cacert`` (else the system's) and shows ``cert``/``key``."""
    context = ssl.create_default_context(cafile=cacert)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def pql_of_fact(name):
    """The PQL query of fact ``name`` on every active node.

    >>> pql_of_fact("runit_services")
    'facts[certname, value] { name = "runit_services" }'
    """
    return 'facts[certname, value] { name = %s }' % json.dumps(name)


def facts_named(url, name, context=None, timeout=30.0):
    """``{certname: value}`` of fact ``name``; PuppetDBError when PuppetDB cannot say."""
    return {row["certname"]: row.get("value")
            for row in _query(url, pql_of_fact(name), context, timeout)
            if isinstance(row, dict) and "certname" in row}


FACT_TIMES_PQL = "nodes[certname, facts_timestamp] {}"


def fact_times(url, context=None, timeout=30.0):
    """``{certname: unix seconds}``: when each active node's facts were last stored (a node
    whose agent stopped keeps its last facts: their age is what tells); PuppetDBError when
    PuppetDB cannot say. A node with no time, or one that is not ISO 8601, is left out."""
    found = {}
    for row in _query(url, FACT_TIMES_PQL, context, timeout):
        if isinstance(row, dict) and "certname" in row:
            moment = unix_seconds(row.get("facts_timestamp"))
            if moment is not None:
                found[row["certname"]] = moment
    return found


def unix_seconds(stamp):
    """PuppetDB's ISO 8601 UTC time as unix seconds; None when it is not one.

    >>> unix_seconds("2026-11-25T12:00:00.500Z"), unix_seconds(None), unix_seconds("soon")
    (1795608000.5, None, None)
    """
    from datetime import datetime, timezone

    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _query(url, pql, context, timeout):
    """PuppetDB's answer to ``pql``: a list of rows; PuppetDBError when it cannot say."""
    body = json.dumps({"query": pql}).encode()
    request = urllib.request.Request(url.rstrip("/") + QUERY_PATH, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as reply:
            # decoded here, not by json.load: json decodes bytes with "surrogatepass", slow
            # on a big answer (bench/RESULTS.md, row 73)
            answer = json.loads(reply.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace").strip()
        raise PuppetDBError("%s%s: HTTP %d %s" % (url, QUERY_PATH, exc.code, detail)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PuppetDBError("%s: %s" % (url, reason)) from exc
    except ValueError as exc:
        raise PuppetDBError("%s%s: not JSON: %s" % (url, QUERY_PATH, exc)) from exc
    if not isinstance(answer, list):
        raise PuppetDBError("%s%s: expected a list of rows for %s" % (url, QUERY_PATH, pql))
    return answer
