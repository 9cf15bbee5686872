"""A SOQL subset: tokenizer, recursive-descent parser and evaluator.

Supported (resolutions.md §31, salesforce-rest.md §4 and §8):
  SELECT field, Parent.Field, Parent.Parent.Field, (SELECT ... FROM ChildRel ...),
         COUNT(), COUNT(field) [alias]
  FROM Object
  WHERE  =, !=, <>, <, <=, >, >=, [NOT] IN (...), LIKE, AND / OR / NOT, parentheses
         (AND and OR mixed at one level without parentheses is an error, as in SOQL);
         literals: 'strings' with the §8 escapes, numbers, true/false, null,
         dates 2024-06-01 and datetimes 2024-06-01T00:00:00Z
  ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...   LIMIT n   OFFSET n
Anything else is MALFORMED_QUERY.  String comparisons are case-insensitive, as in
Salesforce.  Errors are raised as sf_store.SfError with the real error codes.
"""

import re

import sf_schema
from sf_ids import to18
from sf_store import SfError, format_datetime, parse_datetime

_KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc",
             "nulls", "first", "last", "limit", "offset", "true", "false", "null", "count"}

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
""", re.X)

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def malformed(message):
    return SfError(400, "MALFORMED_QUERY", message)


class Tok:
    def __init__(self, kind, value, pos, text):
        self.kind, self.value, self.pos, self.text = kind, value, pos, text

    def kw(self, *words):
        return self.kind == "ident" and self.value.lower() in words


class StringLit:
    """A quoted literal: `text` is its value; `like` the case-insensitive regex it
    means as a LIKE pattern; `wild_escape` whether it used \\% or \\_ (LIKE only)."""

    def __init__(self, text, like, wild_escape):
        self.text, self.like, self.wild_escape = text, like, wild_escape


def _read_string(soql, start):
    i, text, pattern, wild_escape = start + 1, [], [], False
    while i < len(soql):
        ch = soql[i]
        if ch == "'":
            return StringLit("".join(text), re.compile("".join(pattern), re.I | re.S), wild_escape), i + 1
        if ch == "\\":
            nxt = soql[i + 1:i + 2]
            if nxt.lower() in _SIMPLE_ESCAPES:
                ch, i = _SIMPLE_ESCAPES[nxt.lower()], i + 2
            elif nxt in ("%", "_"):
                text.append(nxt)
                pattern.append(re.escape(nxt))
                wild_escape, i = True, i + 2
                continue
            elif nxt == "u" and re.match(r"[0-9a-fA-F]{4}$", soql[i + 2:i + 6]):
                ch, i = chr(int(soql[i + 2:i + 6], 16)), i + 6
            else:
                raise malformed("Invalid string literal '%s'. Illegal character sequence '\\%s' in string literal."
                                % (soql[start:], nxt))
            text.append(ch)
            pattern.append(re.escape(ch))
            continue
        text.append(ch)
        pattern.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    raise malformed("line 1:%d mismatched character '<EOF>' expecting '''" % start)


def tokenize(soql):
    toks, i = [], 0
    while i < len(soql):
        if soql[i] == "'":
            lit, end = _read_string(soql, i)
            toks.append(Tok("string", lit, i, soql[i:end]))
            i = end
            continue
        m = _TOKEN_RE.match(soql, i)
        if not m:
            raise malformed("line 1:%d no viable alternative at character '%s'" % (i, soql[i]))
        kind = m.lastgroup
        if kind != "ws":
            toks.append(Tok(kind, m.group(), i, m.group()))
        i = m.end()
    toks.append(Tok("eof", "", len(soql), "<EOF>"))
    return toks


class Path:
    """A resolved field path: relationship hops then the final field."""

    def __init__(self, hops, field):
        self.hops = hops      # [(relationship name, reference field name, target object name)]
        self.field = field    # sf_schema.Field

    def names(self):
        return [h[0] for h in self.hops] + [self.field.name]


class Query:
    def __init__(self, obj):
        self.obj = obj
        self.items = []       # ("field", Path) | ("count", None) | ("countf", Path, alias) | ("sub", rel, ref, Query)
        self.where = None
        self.order = []       # (Path, desc, nulls_first)
        self.limit = None
        self.offset = 0


class Parser:
    def __init__(self, soql):
        self.soql = soql
        self.toks = tokenize(soql)
        self.i = 0

    # --- token helpers ------------------------------------------------------------
    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def unexpected(self, tok=None):
        tok = tok or self.peek()
        return malformed("unexpected token: '%s'" % tok.text)

    def expect_kw(self, *words):
        tok = self.next()
        if not tok.kw(*words):
            raise self.unexpected(tok)
        return tok

    def expect(self, kind, value=None):
        tok = self.next()
        if tok.kind != kind or (value is not None and tok.value != value):
            raise self.unexpected(tok)
        return tok

    def _where_error(self, tok, message, code="INVALID_FIELD"):
        col = tok.pos + 1
        return SfError(400, code, "\n%s\n%s^\nERROR at Row:1:Column:%d\n%s"
                       % (self.soql, " " * tok.pos, col, message))

    # --- grammar ----------------------------------------------------------------------
    def parse(self):
        q = self.query(None)
        if self.peek().kind != "eof":
            raise self.unexpected()
        return q

    def query(self, parent):
        self.expect_kw("select")
        start = self.i
        self.skip_select_list()
        self.expect_kw("from")
        otok = self.expect("ident")
        if parent is None:
            obj = sf_schema.sobject(otok.value)
            if obj is None:
                raise self._where_error(otok, "sObject type '%s' is not supported. If you are attempting to use a "
                                        "custom object, be sure to append the '__c' after the entity name. Please "
                                        "reference your WSDL or the describe call for the appropriate names."
                                        % otok.value, "INVALID_TYPE")
            rel = ref = None
        else:
            found = parent.child_rel(otok.value)
            if found is None:
                raise self._where_error(otok, "Didn't understand relationship '%s' in FROM part of query call. If "
                                        "you are attempting to use a custom relationship, be sure to append the "
                                        "'__r' after the custom relationship name. Please reference your WSDL or "
                                        "the describe call for the appropriate names." % otok.value, "INVALID_TYPE")
            rel, (child, ref) = found
            obj = sf_schema.OBJECTS[child]
        q = Query(obj)
        q.rel, q.ref = rel, ref
        end = self.i
        self.i = start
        self.select_list(q)
        self.i = end
        if self.peek().kw("where"):
            self.next()
            q.where = self.condition(obj)
        if self.peek().kw("order"):
            self.next()
            self.expect_kw("by")
            while True:
                path = self.path(obj, self.expect("ident"))
                desc = False
                if self.peek().kw("asc", "desc"):
                    desc = self.next().value.lower() == "desc"
                nulls_first = not desc
                if self.peek().kw("nulls"):
                    self.next()
                    nulls_first = self.expect_kw("first", "last").value.lower() == "first"
                q.order.append((path, desc, nulls_first))
                if self.peek().kind == "punct" and self.peek().value == ",":
                    self.next()
                    continue
                break
        if self.peek().kw("limit"):
            self.next()
            q.limit = self.integer()
        if self.peek().kw("offset"):
            self.next()
            q.offset = self.integer()
        return q

    def integer(self):
        tok = self.expect("number")
        if not re.match(r"^\d+$", tok.value):
            raise self.unexpected(tok)
        return int(tok.value)

    def skip_select_list(self):
        """Find FROM first: the select list is resolved against the FROM object.
        Two names in a row at the top level (not an alias after COUNT(...)) mean
        a misspelt keyword: "SELECT Id FRM Account" -> unexpected token: 'FRM'."""
        depth, prev = 0, None
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                raise self.unexpected(tok)
            if depth == 0 and tok.kw("from"):
                return
            if depth == 0 and tok.kind == "ident" and prev is not None and prev.kind == "ident":
                raise self.unexpected(tok)
            prev = tok
            if tok.kind == "punct" and tok.value == "(":
                depth += 1
            elif tok.kind == "punct" and tok.value == ")":
                depth -= 1
            self.next()

    def select_list(self, q):
        while True:
            tok = self.peek()
            if tok.kind == "punct" and tok.value == "(":
                if q.rel is not None:
                    raise self.unexpected(tok)
                self.next()
                sub = self.query(q.obj)
                self.expect("punct", ")")
                q.items.append(("sub", sub.rel, sub.ref, sub))
            elif tok.kw("count") and self.peek(1).kind == "punct" and self.peek(1).value == "(":
                self.next()
                self.next()
                if self.peek().kind == "punct" and self.peek().value == ")":
                    self.next()
                    q.items.append(("count", None))
                else:
                    path = self.path(q.obj, self.expect("ident"))
                    self.expect("punct", ")")
                    alias = None
                    if self.peek().kind == "ident" and not self.peek().kw("from"):
                        alias = self.next().value
                    q.items.append(("countf", path, alias))
            elif tok.kind == "ident" and tok.value.lower() not in _KEYWORDS:
                self.next()
                q.items.append(("field", self.path(q.obj, tok)))
            else:
                raise self.unexpected(tok)
            if self.peek().kind == "punct" and self.peek().value == ",":
                self.next()
                continue
            break
        if any(i[0] == "count" for i in q.items) and len(q.items) > 1:
            raise malformed("COUNT() must be the only element in the SELECT list.")

    def path(self, obj, tok):
        parts = tok.value.split(".")
        if parts[0].lower() == obj.name.lower() and len(parts) > 1:
            parts = parts[1:]  # "SELECT Order.Status FROM Order" is allowed
        hops, cur = [], obj
        for rel in parts[:-1]:
            ref = cur.parent_rel(rel)
            if ref is None:
                raise self._where_error(tok, "Didn't understand relationship '%s' in field path. If you are "
                                        "attempting to use a custom relationship, be sure to append the '__r' after "
                                        "the custom relationship name. Please reference your WSDL or the describe "
                                        "call for the appropriate names." % rel)
            hops.append((ref.rel, ref.name, ref.ref))
            cur = sf_schema.OBJECTS[ref.ref]
        field = cur.field(parts[-1])
        if field is None:
            raise self._where_error(tok, "No such column '%s' on entity '%s'. If you are attempting to use a custom "
                                    "field, be sure to append the '__c' after the custom field name. Please reference "
                                    "your WSDL or the describe call for the appropriate names." % (parts[-1], cur.name))
        return Path(hops, field)

    # --- WHERE ----------------------------------------------------------------------------
    def condition(self, obj):
        nodes = [self.unary(obj)]
        joiner = None
        while self.peek().kw("and", "or"):
            tok = self.next()
            word = tok.value.lower()
            if joiner and word != joiner:
                raise self.unexpected(tok)
            joiner = word
            nodes.append(self.unary(obj))
        return nodes[0] if joiner is None else (joiner, nodes)

    def unary(self, obj):
        tok = self.peek()
        if tok.kw("not"):
            self.next()
            return ("not", self.unary(obj))
        if tok.kind == "punct" and tok.value == "(":
            self.next()
            node = self.condition(obj)
            self.expect("punct", ")")
            return node
        ftok = self.expect("ident")
        if ftok.value.lower() in _KEYWORDS:
            raise self.unexpected(ftok)
        path = self.path(obj, ftok)
        op = self.next()
        if op.kw("like"):
            lit = self.value(path, self.next(), like=True)
            return ("like", path, lit)
        negate = False
        if op.kw("not"):
            negate, op = True, self.next()
            if not op.kw("in"):
                raise self.unexpected(op)
        if op.kw("in"):
            self.expect("punct", "(")
            values = [self.value(path, self.next())]
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.next()
                values.append(self.value(path, self.next()))
            self.expect("punct", ")")
            return ("in", path, values, negate)
        if op.kind != "op":
            raise self.unexpected(op)
        value = self.value(path, self.next())
        if value is None and op.value not in ("=", "!=", "<>"):
            raise self.unexpected(op)
        return ("cmp", path, "!=" if op.value == "<>" else op.value, value)

    def value(self, path, tok, like=False):
        """A literal, checked against the field's type; returns its comparable form."""
        ftype, fname = path.field.type, path.field.name
        if tok.kw("null") and not like:
            return None
        if tok.kind == "string":
            lit = tok.value
            if lit.wild_escape and not like:
                raise malformed("Invalid string literal %s. Illegal character sequence '\\%%' or '\\_' outside "
                                "LIKE." % tok.text)
            if like:
                if ftype not in ("string", "textarea", "email", "picklist", "id", "reference", "autonumber"):
                    raise self._where_error(tok, "invalid operator on field: %s" % fname,
                                            "INVALID_QUERY_FILTER_OPERATOR")
                return lit.like
            if ftype in ("id", "reference"):
                full = to18(lit.text)
                if full is None:
                    raise self._where_error(tok, "invalid ID field: %s" % lit.text, "INVALID_QUERY_FILTER_OPERATOR")
                return full
            if ftype in ("string", "textarea", "email", "picklist", "autonumber"):
                return lit.text.lower()
            raise self._where_error(tok, "value of filter criterion for field '%s' must be of type %s and should "
                                    "not be enclosed in quotes" % (fname, _type_word(ftype)),
                                    "INVALID_QUERY_FILTER_OPERATOR")
        expected = {"boolean": ("ident",), "double": ("number",), "currency": ("number",),
                    "date": ("date",), "datetime": ("datetime",)}.get(ftype)
        if like or expected is None or tok.kind not in expected or (ftype == "boolean" and not tok.kw("true", "false")):
            if tok.kind in ("punct", "op", "eof") or (tok.kind == "ident" and not tok.kw("true", "false")):
                raise self.unexpected(tok)
            raise self._where_error(tok, "value of filter criterion for field '%s' must be of type %s"
                                    % (fname, _type_word(ftype)), "INVALID_QUERY_FILTER_OPERATOR")
        if ftype == "boolean":
            return tok.value.lower() == "true"
        if ftype in ("double", "currency"):
            return float(tok.value)
        if ftype == "date":
            return tok.value
        return format_datetime(parse_datetime(tok.value))


def _type_word(ftype):
    return {"double": "double", "currency": "double", "date": "date", "datetime": "dateTime",
            "boolean": "boolean", "id": "id", "reference": "id"}.get(ftype, "string")


def parse(soql):
    if not soql or not soql.strip():
        raise malformed("A query string has to be specified")
    return Parser(soql).parse()


# --- evaluation -------------------------------------------------------------------------


class Evaluator:
    def __init__(self, store, api_version, include_deleted=False):
        self.store = store
        self.v = api_version
        self.include_deleted = include_deleted

    def rows(self, otype):
        return [r for r in self.store.records[otype].values() if self.include_deleted or not r["IsDeleted"]]

    def follow(self, rec, path):
        """The value at `path` on `rec` (None if a lookup on the way is empty)."""
        for _rel, ref, target in path.hops:
            rec = self.store.find(target, rec.get(ref)) if rec.get(ref) else None
            if rec is None:
                return None
        return rec.get(path.field.name)

    def comparable(self, path, value):
        if isinstance(value, str) and path.field.type not in ("id", "reference", "date", "datetime"):
            return value.lower()
        return value

    def test(self, rec, node):
        kind = node[0]
        if kind == "and":
            return all(self.test(rec, n) for n in node[1])
        if kind == "or":
            return any(self.test(rec, n) for n in node[1])
        if kind == "not":
            return not self.test(rec, node[1])
        path = node[1]
        value = self.comparable(path, self.follow(rec, path))
        if kind == "like":
            return value is not None and node[2].fullmatch(value) is not None
        if kind == "in":
            return (value in node[2]) != node[3]
        op, lit = node[2], node[3]
        if op == "=":
            return value == lit
        if op == "!=":
            return value != lit
        if value is None or lit is None:
            return False
        return {"<": value < lit, "<=": value <= lit, ">": value > lit, ">=": value >= lit}[op]

    def run(self, q, rows=None):
        """(totalSize, [output records]) for query `q`."""
        rows = self.rows(q.obj.name) if rows is None else rows
        if q.where is not None:
            rows = [r for r in rows if self.test(r, q.where)]
        for path, desc, nulls_first in reversed(q.order):
            present = [r for r in rows if self.follow(r, path) is not None]
            absent = [r for r in rows if self.follow(r, path) is None]
            present.sort(key=lambda r: self.comparable(path, self.follow(r, path)), reverse=desc)
            rows = absent + present if nulls_first else present + absent
        rows = rows[q.offset:]
        if q.limit is not None:
            rows = rows[:q.limit]
        if any(i[0] == "count" for i in q.items):
            return len(rows), []
        if any(i[0] == "countf" for i in q.items):
            agg = {"attributes": {"type": "AggregateResult"}}
            for n, item in enumerate(i for i in q.items if i[0] == "countf"):
                agg[item[2] or "expr%d" % n] = sum(1 for r in rows if self.follow(r, item[1]) is not None)
            return 1, [agg]
        return len(rows), [self.shape(q, r) for r in rows]

    def attributes(self, otype, sfid):
        return {"type": otype, "url": "/services/data/v%s/sobjects/%s/%s" % (self.v, otype, sfid)}

    def shape(self, q, rec):
        out = {"attributes": self.attributes(q.obj.name, rec["Id"])}
        for item in q.items:
            if item[0] == "field":
                self._put(out, rec, item[1])
            elif item[0] == "sub":
                _, rel, ref, sub = item
                children = [c for c in self.rows(sub.obj.name) if c[ref] == rec["Id"]]
                total, records = self.run(sub, children)
                out[rel] = {"totalSize": total, "done": True, "records": records} if records else None
        return out

    def _put(self, out, rec, path):
        node, cur = out, rec
        for rel, ref, target in path.hops:
            parent = self.store.find(target, cur.get(ref)) if cur and cur.get(ref) else None
            if parent is None:
                node.setdefault(rel, None)
                return
            if not isinstance(node.get(rel), dict):
                node[rel] = {"attributes": self.attributes(target, parent["Id"])}
            node, cur = node[rel], parent
        node[path.field.name] = cur.get(path.field.name)
