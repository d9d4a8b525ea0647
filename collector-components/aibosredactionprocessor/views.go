package aibosredactionprocessor

// Canonical views of a text (aibos_otel/redaction/views.py in Go), scanned besides the raw
// text, each finding mapped back to the raw bytes it came from:
//
//   - percent: %XX runs decoded (UTF-8; bytes that are not UTF-8 stay escaped), twice at most;
//   - unicode: invisible format characters removed, every other non-ASCII character folded to
//     one ASCII byte (spaces to " ", dashes to "-", full-width forms and other digits to ASCII,
//     accented letters to their base letter, other letters to "x", the rest to "~").
//
// Python's views work in code points and Go's in bytes; the fold is one-to-one in characters
// either way, so a finding covers the same characters in both engines.

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// view: a transformed text and, for each of its bytes, the raw span it came from.
type view struct {
	text     string
	rawStart []int
	rawEnd   []int
}

func (v *view) spanToRaw(start, end int) (int, int) {
	if end <= start {
		return v.rawStart[start], v.rawStart[start]
	}
	return v.rawStart[start], v.rawEnd[end-1]
}

// compose: a view of a view, mapped to the first one's raw text.
func (v *view) compose(parent *view) *view {
	out := &view{text: v.text, rawStart: make([]int, len(v.rawStart)), rawEnd: make([]int, len(v.rawEnd))}
	for i := range v.rawStart {
		out.rawStart[i] = parent.rawStart[v.rawStart[i]]
		out.rawEnd[i] = parent.rawEnd[v.rawEnd[i]-1]
	}
	return out
}

type viewBuilder struct {
	b        strings.Builder
	rawStart []int
	rawEnd   []int
}

func (vb *viewBuilder) same(text string, from, to int) {
	vb.b.WriteString(text[from:to])
	for i := from; i < to; i++ {
		vb.rawStart = append(vb.rawStart, i)
		vb.rawEnd = append(vb.rawEnd, i+1)
	}
}

func (vb *viewBuilder) edit(replacement string, rawStart, rawEnd int) {
	vb.b.WriteString(replacement)
	for range len(replacement) {
		vb.rawStart = append(vb.rawStart, rawStart)
		vb.rawEnd = append(vb.rawEnd, rawEnd)
	}
}

func (vb *viewBuilder) view() *view {
	return &view{text: vb.b.String(), rawStart: vb.rawStart, rawEnd: vb.rawEnd}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// percentView: text with its %XX runs decoded, or nil when nothing changes.
func percentView(text string) *view {
	if !strings.Contains(text, "%") {
		return nil
	}
	var vb viewBuilder
	changed := false
	position := 0
	for i := 0; i < len(text); {
		if !(text[i] == '%' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2])) {
			i++
			continue
		}
		runStart := i
		var raw []byte
		for i+2 < len(text) && text[i] == '%' && isHex(text[i+1]) && isHex(text[i+2]) {
			raw = append(raw, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 3
		}
		decoded := decodeKeepingEscapes(raw)
		vb.same(text, position, runStart)
		if decoded == text[runStart:i] {
			vb.same(text, runStart, i)
		} else {
			vb.edit(decoded, runStart, i)
			changed = true
		}
		position = i
	}
	if !changed {
		return nil
	}
	vb.same(text, position, len(text))
	return vb.view()
}

// decodeKeepingEscapes: UTF-8 bytes as text; bytes that are not UTF-8 as the %XX they were.
func decodeKeepingEscapes(raw []byte) string {
	var b strings.Builder
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		if r == utf8.RuneError && size <= 1 {
			b.WriteString("%")
			b.WriteByte("0123456789ABCDEF"[raw[0]>>4])
			b.WriteByte("0123456789ABCDEF"[raw[0]&0xf])
			raw = raw[1:]
			continue
		}
		b.Write(raw[:size])
		raw = raw[size:]
	}
	return b.String()
}

// invisible: characters that render as nothing (views.py _INVISIBLE).
func invisible(r rune) bool {
	switch {
	case r == 0x00ad, r == 0x034f, r == 0x061c, r == 0x115f, r == 0x1160, r == 0x17b4, r == 0x17b5, r == 0x180e:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2064:
		return true
	case r >= 0x2066 && r <= 0x206f, r == 0xfeff:
		return true
	}
	return false
}

// foldRune: the one ASCII byte standing for a non-ASCII character (views.fold_char).
func foldRune(r rune) byte {
	switch {
	case unicode.Is(unicode.Zs, r):
		return ' '
	case unicode.Is(unicode.Pd, r) || r == 0x2212:
		return '-'
	case r >= 0xff01 && r <= 0xff5e:
		return byte(r - 0xfee0)
	case unicode.Is(unicode.Nd, r):
		return byte('0' + digitValue(r))
	case unicode.IsLetter(r):
		base := []rune(norm.NFKD.String(string(r)))
		if len(base) > 0 && base[0] < 128 && ((base[0] >= 'a' && base[0] <= 'z') || (base[0] >= 'A' && base[0] <= 'Z')) {
			return byte(base[0])
		}
		return 'x'
	case unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
		return ' '
	}
	return '~'
}

// digitValue: decimal digits come in runs of ten starting at zero.
func digitValue(r rune) int {
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10
}

// unicodeView: text without invisible characters, folded to ASCII; nil when text is ASCII.
func unicodeView(text string) *view {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return nil
	}
	var vb viewBuilder
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			vb.same(text, i, i+1)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if invisible(r) {
			// removed: the next byte's raw start stays where it is; Python widens a span that
			// ends at a removal to the removal, which the merge makes the same
			i += size
			continue
		}
		vb.edit(string(foldRune(r)), i, i+size)
		i += size
	}
	return vb.view()
}

// views: every view of text that differs from it, mapped to text (views.views).
func views(text string) []*view {
	var out []*view
	if decoded := percentView(text); decoded != nil {
		out = append(out, decoded)
		if twice := percentView(decoded.text); twice != nil {
			out = append(out, twice.compose(decoded))
		}
		if folded := unicodeView(decoded.text); folded != nil {
			out = append(out, folded.compose(decoded))
		}
	}
	if folded := unicodeView(text); folded != nil {
		out = append(out, folded)
	}
	return out
}

func needsViews(text string) bool {
	if strings.Contains(text, "%") {
		return true
	}
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}
