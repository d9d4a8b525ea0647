package aibosredactionprocessor

// JSON inside a string value: parsed (order kept) and redacted structurally, as the SDK does
// (engine._redact_json): a sensitive key masks its whole value, nested strings are redacted,
// and the document is written back as Python's json.dumps(ensure_ascii=False) writes it, so
// both engines give the same text.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

const maxJSON = 1 << 20

type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

type jsonNode struct {
	kind   jsonKind
	b      bool
	num    json.Number
	str    string
	items  []*jsonNode
	keys   []string
	values []*jsonNode
}

var errJSON = errors.New("not a JSON document")

func looksLikeJSON(text string) bool {
	s := strings.TrimSpace(text)
	return len(s) > 1 && (s[0] == '{' || s[0] == '[') && (s[len(s)-1] == '}' || s[len(s)-1] == ']')
}

func parseJSON(text string) (*jsonNode, error) {
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()
	node, err := readJSON(decoder, 0)
	if err != nil {
		return nil, err
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, errJSON // trailing data
	}
	return node, nil
}

func readJSON(d *json.Decoder, depth int) (*jsonNode, error) {
	if depth > 512 {
		return nil, errJSON
	}
	token, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := token.(type) {
	case json.Delim:
		switch t {
		case '{':
			node := &jsonNode{kind: jsonObject}
			index := map[string]int{}
			for d.More() {
				keyToken, err := d.Token()
				if err != nil {
					return nil, err
				}
				key, ok := keyToken.(string)
				if !ok {
					return nil, errJSON
				}
				value, err := readJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				if at, seen := index[key]; seen { // Python's dict: the later value wins, in place
					node.values[at] = value
					continue
				}
				index[key] = len(node.keys)
				node.keys = append(node.keys, key)
				node.values = append(node.values, value)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return node, nil
		case '[':
			node := &jsonNode{kind: jsonArray}
			for d.More() {
				item, err := readJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				node.items = append(node.items, item)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return node, nil
		}
		return nil, errJSON
	case string:
		return &jsonNode{kind: jsonString, str: t}, nil
	case json.Number:
		return &jsonNode{kind: jsonNumber, num: t}, nil
	case bool:
		return &jsonNode{kind: jsonBool, b: t}, nil
	case nil:
		return &jsonNode{kind: jsonNull}, nil
	}
	return nil, errJSON
}

// redactJSON: the structural redaction of a JSON text, or ok=false to let the text pass decide.
func (e *Engine) redactJSON(text string) (Result, bool) {
	document, err := parseJSON(text)
	if err != nil || (document.kind != jsonObject && document.kind != jsonArray) {
		return Result{}, false
	}
	var result Result
	e.redactJSONNode(document, &result, 0)
	if len(result.Counts) == 0 {
		return Result{}, false
	}
	var b bytes.Buffer
	writePythonJSON(&b, document)
	result.Text = b.String()
	return result, true
}

func (e *Engine) redactJSONNode(node *jsonNode, result *Result, depth int) {
	if depth > maxDepth {
		*node = jsonNode{kind: jsonString, str: marker(errorID)}
		result.add(errorID, 1)
		result.Failures++
		return
	}
	switch node.kind {
	case jsonString:
		r := e.Redact(node.str)
		if r.Text != node.str || len(r.Counts) > 0 {
			node.str = r.Text
			for id, n := range r.Counts {
				result.add(id, n)
			}
			result.Failures += r.Failures
		}
	case jsonNumber:
		text := node.num.String()
		if _, err := strconv.ParseInt(text, 10, 64); err != nil && !isBigIntText(text) {
			return // a float: never a card or account number
		}
		if i, err := strconv.ParseInt(text, 10, 64); err == nil && i < bigInt && i > -bigInt {
			return
		}
		if r := e.Redact(text); len(r.Counts) > 0 {
			*node = jsonNode{kind: jsonString, str: r.Text}
			for id, n := range r.Counts {
				result.add(id, n)
			}
		}
	case jsonArray:
		for _, item := range node.items {
			e.redactJSONNode(item, result, depth+1)
		}
	case jsonObject:
		var named *keyRule
		if _, hasValue := node.get("value"); hasValue {
			for _, field := range []string{"name", "key", "Name", "Key"} {
				if v, ok := node.get(field); ok && v.kind == jsonString && v.str != "" {
					named = e.keyRule(v.str)
					break
				}
			}
		}
		for i, key := range node.keys {
			value := node.values[i]
			if named != nil && key == "value" && !jsonEmpty(value) {
				node.values[i] = &jsonNode{kind: jsonString, str: marker(named.id)}
				result.add(named.id, 1)
				continue
			}
			if rule := e.keyRule(key); rule != nil && !jsonEmpty(value) {
				node.values[i] = &jsonNode{kind: jsonString, str: marker(rule.id)}
				result.add(rule.id, 1)
				continue
			}
			e.redactJSONNode(value, result, depth+1)
		}
	}
}

func isBigIntText(text string) bool {
	t := strings.TrimPrefix(text, "-")
	return t != "" && allASCIIDigits(t)
}

func jsonEmpty(n *jsonNode) bool { return n.kind == jsonNull || (n.kind == jsonString && n.str == "") }

func (n *jsonNode) get(key string) (*jsonNode, bool) {
	for i, k := range n.keys {
		if k == key {
			return n.values[i], true
		}
	}
	return nil, false
}

// writePythonJSON writes node as json.dumps(node, ensure_ascii=False) does.
func writePythonJSON(b *bytes.Buffer, node *jsonNode) {
	switch node.kind {
	case jsonNull:
		b.WriteString("null")
	case jsonBool:
		if node.b {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case jsonNumber:
		b.WriteString(pythonNumber(node.num.String()))
	case jsonString:
		writePythonString(b, node.str)
	case jsonArray:
		b.WriteByte('[')
		for i, item := range node.items {
			if i > 0 {
				b.WriteString(", ")
			}
			writePythonJSON(b, item)
		}
		b.WriteByte(']')
	case jsonObject:
		b.WriteByte('{')
		for i, key := range node.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writePythonString(b, key)
			b.WriteString(": ")
			writePythonJSON(b, node.values[i])
		}
		b.WriteByte('}')
	}
}

// pythonNumber: an integer as written; a float as Python's repr writes it.
func pythonNumber(text string) string {
	if isBigIntText(text) {
		return strings.TrimLeft(text, "+")
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return text
	}
	if math.IsInf(f, 0) {
		if f > 0 {
			return "Infinity"
		}
		return "-Infinity"
	}
	exp := strconv.FormatFloat(f, 'e', -1, 64)
	e, _ := strconv.Atoi(exp[strings.IndexByte(exp, 'e')+1:])
	if e < -4 || e >= 16 {
		return exp
	}
	fixed := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(fixed, ".") {
		fixed += ".0"
	}
	return fixed
}

func writePythonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&0xf])
			} else {
				b.WriteString(s[i : i+size])
			}
		}
		i += size
	}
	b.WriteByte('"')
}
