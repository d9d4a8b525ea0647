package aibosredactionprocessor

// The SDK's validators (aibos_otel/redaction/validators.py and the closures of the catalogue
// modules), written again in Go. Each takes the matched secret text and says whether the
// candidate is real. The conformance file (testdata/conformance.json) holds what the Python
// engine does on every catalogue example and corpus line; go test checks this engine does the
// same, so the two cannot drift apart silently.

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

type validatorFunc func(string) bool

// validators by the name the renderer gives them (render_go.validator_name).
var validators = map[string]validatorFunc{
	"no_placeholder":             noPlaceholder,
	"random_looking":             randomLooking,
	"strong_value":               strongValue,
	"password_value":             passwordValue,
	"prose_value":                proseValue,
	"high_entropy_token":         highEntropyToken,
	"base64_jwt":                 base64JWT,
	"jwt_shape":                  jwtShape,
	"pem_body":                   pemBody,
	"iban":                       iban,
	"us_ssn":                     usSSN,
	"uk_nino":                    ukNINO,
	"es_dni":                     esDNI,
	"es_nie":                     esNIE,
	"it_codice_fiscale":          itCodiceFiscale,
	"fi_hetu":                    fiHetu,
	"fr_nir":                     frNIR,
	"pl_pesel":                   plPESEL,
	"nl_bsn":                     nlBSN,
	"se_personnummer":            sePersonnummer,
	"us_npi":                     usNPI,
	"ipv4":                       ipv4,
	"ipv6":                       ipv6,
	"mac_address":                macAddress,
	"plausible_date":             plausibleDate,
	"has_digit":                  hasDigit,
	"card_main_issuers":          func(s string) bool { return paymentCard(s) && digitsOf(s)[0] != '1' },
	"card_any_issuer":            func(s string) bool { return paymentCard(s) && digitsOf(s)[0] == '1' },
	"track_pan":                  trackPAN,
	"nanp":                       nanp,
	"imei":                       imei,
	"phone-international:check":  phoneDigits(8, 15),
	"phone-national-trunk:check": phoneDigits(9, 12),
	"phone-with-context:check":   phoneDigits(8, 13),
	"telegram-bot-token:lambda":  telegramSecret,
	"us-dea-number:lambda":       deaCheck,
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func allASCIIDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

var luhnDoubled = [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}

func luhnOK(number string) bool {
	if !allASCIIDigits(number) {
		return false
	}
	total := 0
	for i := 0; i < len(number); i++ {
		d := int(number[len(number)-1-i] - '0')
		if i%2 == 1 {
			d = luhnDoubled[d]
		}
		total += d
	}
	return total%10 == 0
}

func shannonEntropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

func runeLen(s string) int { return len([]rune(s)) }

// ---- payment cards ----------------------------------------------------------------------

var cardSeparator = regexp.MustCompile(`[^0-9]`)

func paymentCard(text string) bool {
	number := digitsOf(text)
	if len(number) < 13 || len(number) > 19 || !luhnOK(number) || distinct(number) == 1 {
		return false
	}
	if len(number) != runeLen(text) {
		seps := map[string]bool{}
		for _, s := range cardSeparator.FindAllString(text, -1) {
			seps[s] = true
		}
		if len(seps) > 1 {
			return false
		}
		var groups []int
		for _, g := range cardSeparator.Split(text, -1) {
			if g != "" {
				groups = append(groups, len(g))
			}
		}
		if !cardGrouping(groups) {
			return false
		}
	}
	return issuerLengthOK(number)
}

func cardGrouping(groups []int) bool {
	if len(groups) == 3 && groups[0] == 4 && groups[1] == 6 && (groups[2] == 5 || groups[2] == 4) {
		return true
	}
	if len(groups) == 0 {
		return false
	}
	for _, g := range groups[:len(groups)-1] {
		if g != 4 {
			return false
		}
	}
	last := groups[len(groups)-1]
	return last >= 1 && last <= 4
}

func issuerLengthOK(number string) bool {
	length := len(number)
	head2, _ := strconv.Atoi(number[:2])
	head4, _ := strconv.Atoi(number[:4])
	switch number[0] {
	case '1':
		return length == 15
	case '2':
		return head4 >= 2221 && head4 <= 2720 && length == 16
	case '3':
		if head2 == 34 || head2 == 37 {
			return length == 15
		}
		if head2 == 30 || head2 == 36 || head2 == 38 || head2 == 39 {
			return length >= 14 && length <= 19
		}
		return head4 >= 3528 && head4 <= 3589 && length >= 16 && length <= 19
	case '4':
		return length == 13 || length == 16 || length == 19
	case '5', '6':
		return (length >= 16 && length <= 19) ||
			(number[0] == '5' && (head2 == 50 || head2 == 56 || head2 == 57 || head2 == 58) && length >= 12)
	}
	return false
}

func trackPAN(value string) bool {
	pan := strings.TrimLeft(value, "%;B")
	pan = strings.SplitN(pan, "^", 2)[0]
	pan = strings.SplitN(pan, "=", 2)[0]
	return luhnOK(pan)
}

func imei(value string) bool {
	d := digitsOf(value)
	return len(d) == 15 && luhnOK(d)
}

func nanp(value string) bool {
	d := digitsOf(value)
	if len(d) < 10 || len(d) > 13 {
		return false
	}
	local := d[len(d)-10:]
	return strings.ContainsRune("23456789", rune(local[0])) && strings.ContainsRune("23456789", rune(local[3]))
}

// A calendar date is not a phone number (catalogue_pii._DATE; RE2 has no back-references, so
// each separator is spelled out).
var phoneDate = regexp.MustCompile(`\A(?:(?:19|20)\d{2}(?:-(?:0[1-9]|1[0-2])-|\.(?:0[1-9]|1[0-2])\.|/(?:0[1-9]|1[0-2])/)(?:0[1-9]|[12]\d|3[01])|\d{2}(?:-\d{2}-|\.\d{2}\.|/\d{2}/)(?:19|20)\d{2})\z`)

func phoneDigits(low, high int) validatorFunc {
	return func(value string) bool {
		if phoneDate.MatchString(strings.Trim(value, "()")) {
			return false
		}
		d := digitsOf(value)
		return len(d) >= low && len(d) <= high && distinct(d) > 2
	}
}

func hasDigit(value string) bool {
	for _, r := range value {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

func deaCheck(s string) bool {
	if len(s) < 9 {
		return false
	}
	digit := func(i int) int { return int(s[i] - '0') }
	for _, i := range []int{2, 3, 4, 5, 6, 7, 8} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return (digit(2)+digit(4)+digit(6)+2*(digit(3)+digit(5)+digit(7)))%10 == digit(8)
}

func telegramSecret(token string) bool {
	_, after, _ := strings.Cut(token, ":")
	return randomLooking(after)
}

// ---- IBAN -------------------------------------------------------------------------------

var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
	"BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
	"DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
	"GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
	"IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
	"LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
	"MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
	"PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
	"SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

var bbanShapes = map[string]string{
	"AT": "16n", "AZ": "4a20c", "BA": "16n", "BE": "12n", "BG": "4a6n8c", "BH": "4a14c",
	"BR": "23n1a1c", "BY": "4c4n16c", "CH": "5n12c", "CR": "18n", "CZ": "20n", "DE": "18n",
	"DK": "14n", "DO": "4c20n", "EE": "16n", "EG": "25n", "ES": "20n", "FI": "14n", "FO": "14n",
	"FR": "10n11c2n", "GB": "4a14n", "GE": "2a16n", "GI": "4a15c", "GL": "14n", "GR": "7n16c",
	"HR": "17n", "HU": "24n", "IE": "4a14n", "IL": "19n", "IS": "22n", "IT": "1a10n12c",
	"KZ": "3n13c", "LB": "4n20c", "LI": "5n12c", "LT": "16n", "LU": "3n13c", "LY": "21n",
	"MC": "10n11c2n", "ME": "18n", "MK": "3n10c2n", "MT": "4a5n18c", "MU": "4a19n3a",
	"NL": "4a10n", "NO": "11n", "PK": "4a16c", "PL": "24n", "PS": "4a21c", "PT": "21n",
	"QA": "4a21c", "RO": "4a16c", "RS": "18n", "SA": "2n18c", "SE": "20n", "SI": "15n",
	"SK": "20n", "SM": "1a10n12c", "TN": "20n", "TR": "5n17c", "UA": "6n19c", "VA": "18n",
}

var (
	shapePart = regexp.MustCompile(`(\d+)([nac])`)
	bbanRes   = func() map[string]*regexp.Regexp {
		classes := map[string]string{"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
		out := map[string]*regexp.Regexp{}
		for country, shape := range bbanShapes {
			body := `\A`
			for _, m := range shapePart.FindAllStringSubmatch(shape, -1) {
				body += classes[m[2]] + "{" + m[1] + "}"
			}
			out[country] = regexp.MustCompile(body + `\z`)
		}
		return out
	}()
)

func iban(text string) bool {
	compact := strings.ReplaceAll(strings.ReplaceAll(text, " ", ""), "-", "")
	if compact != strings.ToUpper(compact) && compact != strings.ToLower(compact) {
		return false
	}
	compact = strings.ToUpper(compact)
	if len(compact) < 4 {
		return false
	}
	country := compact[:2]
	if want, ok := ibanLengths[country]; !ok || want != runeLen(compact) || !allASCIIDigits(compact[2:4]) {
		return false
	}
	if shape, ok := bbanRes[country]; ok && !shape.MatchString(compact[4:]) {
		return false
	}
	rearranged := compact[4:] + compact[:4]
	var numeric strings.Builder
	for _, c := range rearranged {
		v, err := strconv.ParseInt(string(c), 36, 64)
		if err != nil {
			return false
		}
		numeric.WriteString(strconv.FormatInt(v, 10))
	}
	n, ok := new(big.Int).SetString(numeric.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// ---- national ids -------------------------------------------------------------------------

func usSSN(text string) bool {
	seps := map[rune]bool{}
	for _, r := range text {
		if r < '0' || r > '9' {
			seps[r] = true
		}
	}
	if len(seps) > 1 {
		return false
	}
	n := digitsOf(text)
	if len(n) != 9 || distinct(n) == 1 {
		return false
	}
	area, group, serial := n[:3], n[3:5], n[5:]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	return n != "078051120" && n != "219099999" && n != "123456789"
}

func ukNINO(text string) bool {
	c := strings.ToUpper(strings.ReplaceAll(text, " ", ""))
	if runeLen(c) != 9 {
		return false
	}
	switch c[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

func esDNI(text string) bool {
	c := strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(text, "-", ""), " ", ""))
	if c == "" {
		return false
	}
	number, letter := c[:len(c)-1], c[len(c)-1]
	if !allASCIIDigits(number) || len(number) != 8 {
		return false
	}
	v, _ := strconv.Atoi(number)
	return dniLetters[v%23] == letter
}

func esNIE(text string) bool {
	c := strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(text, "-", ""), " ", ""))
	if c == "" {
		return false
	}
	prefix := strings.IndexByte("XYZ", c[0])
	if prefix < 0 {
		return false
	}
	return esDNI(strconv.Itoa(prefix) + c[1:])
}

var cfOdd = []int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}

func itCodiceFiscale(text string) bool {
	code := strings.ToUpper(text)
	if len(code) != 16 {
		return false
	}
	total := 0
	for i := 0; i < 15; i++ {
		c := code[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c - 'A')
		default:
			return false
		}
		if i%2 == 0 {
			total += cfOdd[v]
		} else {
			total += v
		}
	}
	return byte('A'+total%26) == code[15]
}

var peselWeights = []int{1, 3, 7, 9, 1, 3, 7, 9, 1, 3}

func plPESEL(text string) bool {
	n := digitsOf(text)
	if len(n) != 11 {
		return false
	}
	month, _ := strconv.Atoi(n[2:4])
	day, _ := strconv.Atoi(n[4:6])
	month %= 20
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return false
	}
	sum := 0
	for i, w := range peselWeights {
		sum += int(n[i]-'0') * w
	}
	return (10-sum%10)%10 == int(n[10]-'0')
}

func nlBSN(text string) bool {
	n := digitsOf(text)
	if len(n) != 9 || distinct(n) == 1 {
		return false
	}
	total := 0
	for i := 0; i < 8; i++ {
		total += int(n[i]-'0') * (9 - i)
	}
	total -= int(n[8] - '0')
	return ((total%11)+11)%11 == 0
}

const hetuCheck = "0123456789ABCDEFHJKLMNPRSTUVWXY"

func fiHetu(text string) bool {
	code := strings.ToUpper(text)
	if len(code) != 11 || !allASCIIDigits(code[:6]+code[7:10]) {
		return false
	}
	day, _ := strconv.Atoi(code[0:2])
	month, _ := strconv.Atoi(code[2:4])
	if day < 1 || day > 31 || month < 1 || month > 12 {
		return false
	}
	v, _ := strconv.Atoi(code[:6] + code[7:10])
	return hetuCheck[v%31] == code[10]
}

func frNIR(text string) bool {
	c := strings.ToUpper(strings.ReplaceAll(text, " ", ""))
	if len(c) != 15 {
		return false
	}
	body := strings.ReplaceAll(strings.ReplaceAll(c[:13], "2A", "19"), "2B", "18")
	if !allASCIIDigits(body) || !allASCIIDigits(c[13:]) {
		return false
	}
	month, _ := strconv.Atoi(body[3:5])
	if !((month >= 1 && month <= 12) || (month >= 20 && month <= 42) || (month >= 50 && month <= 99)) {
		return false
	}
	b, _ := strconv.ParseInt(body, 10, 64)
	key, _ := strconv.ParseInt(c[13:], 10, 64)
	return 97-b%97 == key
}

func sePersonnummer(text string) bool {
	n := digitsOf(text)
	if len(n) != 10 {
		return false
	}
	month, _ := strconv.Atoi(n[2:4])
	day, _ := strconv.Atoi(n[4:6])
	if month < 1 || month > 12 || day%60 < 1 || day%60 > 31 {
		return false
	}
	return luhnOK(n)
}

func usNPI(text string) bool {
	n := digitsOf(text)
	return len(n) == 10 && (n[0] == '1' || n[0] == '2') && luhnOK("80840"+n)
}

// ---- network addresses --------------------------------------------------------------------

func ipv4(text string) bool {
	a, err := netip.ParseAddr(text)
	return err == nil && a.Is4()
}

func ipv6(text string) bool {
	if strings.Count(text, ":") < 2 || (text != "::" && !strings.ContainsAny(text, "0123456789")) {
		return false
	}
	if strings.Contains(text, "%") {
		return false // Python's ipaddress takes scopes, but no catalogue pattern matches one
	}
	a, err := netip.ParseAddr(text)
	return err == nil && a.Is6()
}

var macSeparators = regexp.MustCompile(`[:\-.]`)

func macAddress(text string) bool {
	c := strings.ToLower(macSeparators.ReplaceAllString(text, ""))
	if !strings.ContainsAny(c, "0123456789") {
		return false
	}
	return len(c) == 12 && c != "000000000000" && c != "ffffffffffff"
}

// ---- dates ----------------------------------------------------------------------------------

var monthNames = func() map[string]int {
	names := [][]string{{"jan", "january"}, {"feb", "february"}, {"mar", "march"}, {"apr", "april"}, {"may"},
		{"jun", "june"}, {"jul", "july"}, {"aug", "august"}, {"sep", "sept", "september"},
		{"oct", "october"}, {"nov", "november"}, {"dec", "december"}}
	out := map[string]int{}
	for i, group := range names {
		for _, n := range group {
			out[n] = i + 1
		}
	}
	return out
}()

var dateSplit = regexp.MustCompile(`[\s/.,\-]+`)

func isDigits(s string) bool { return allASCIIDigits(s) }

func plausibleDate(text string) bool {
	var parts []string
	for _, p := range dateSplit.Split(strings.ToLower(strings.TrimSpace(text)), -1) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) != 3 {
		return false
	}
	var year, month, day int
	var numbers, names []string
	for _, p := range parts {
		if isDigits(p) {
			numbers = append(numbers, p)
		} else {
			names = append(names, p)
		}
	}
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	switch {
	case len(names) > 0:
		m, ok := monthNames[names[0]]
		if len(names) != 1 || !ok || len(numbers) != 2 {
			return false
		}
		month = m
		var big, small []int
		for _, n := range numbers {
			if len(n) == 4 {
				big = append(big, atoi(n))
			}
			if len(n) <= 2 {
				small = append(small, atoi(n))
			}
		}
		if len(big) != 1 || len(small) != 1 {
			return false
		}
		year, day = big[0], small[0]
	case len(parts[0]) == 4:
		year, month, day = atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
	case len(parts[2]) == 2 || len(parts[2]) == 4:
		first, second := atoi(parts[0]), atoi(parts[1])
		year = atoi(parts[2])
		if year < 100 {
			if year > 30 {
				year += 1900
			} else {
				year += 2000
			}
		}
		if first <= 12 {
			month, day = first, second
		} else {
			month, day = second, first
		}
	default:
		return false
	}
	if month < 1 || month > 12 || day < 1 || year < 1 || year > 9999 {
		return false
	}
	date := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if date.Day() != day || int(date.Month()) != month {
		return false // 31 February
	}
	return !date.Before(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) && !date.After(time.Now().UTC())
}

// ---- placeholders, identifiers and randomness -----------------------------------------------

var placeholderPrefixes = []string{"[redacted", "[hmac:", "${", "$(", "{{", "{%", "<%", "#{", "%s", "%d", "***", "!vault"}
var placeholderWords = []string{"changeme", "placeholder", "redacted", "example", "dummy", "put_your", "put-your", "put your", "fake"}

var (
	placeholderRuns = regexp.MustCompile(`x{5}|\*{4}|#{4}|\.{4}|(?:^|[^a-z])your[_\- ]|insert[_\- ]`)
	envReference    = regexp.MustCompile(`\A\$[A-Z_]`)
)

const fillers = "xX*#.0-_ "

func isPlaceholder(value string) bool {
	if value == "" {
		return false
	}
	lowered := strings.ToLower(value)
	for _, p := range placeholderPrefixes {
		if strings.HasPrefix(lowered, p) {
			return true
		}
	}
	if envReference.MatchString(value) {
		return true
	}
	runes := []rune(value)
	first, last := runes[0], runes[len(runes)-1]
	if (first == '<' && last == '>') || (first == '%' && last == '%') || (first == '{' && last == '}') || (first == '[' && last == ']') {
		return true
	}
	for _, w := range placeholderWords {
		if strings.Contains(lowered, w) {
			return true
		}
	}
	if placeholderRuns.MatchString(lowered) {
		return true
	}
	if len(runes) < 8 {
		return false
	}
	// the most frequent character (the first seen on ties, as Python's max over a set is not
	// ordered; ties between a filler and a non-filler are rare enough to ignore)
	counts := map[rune]int{}
	for _, r := range runes {
		counts[r]++
	}
	top, topCount := rune(0), 0
	for _, r := range runes {
		if counts[r] > topCount || (counts[r] == topCount && strings.ContainsRune(fillers, r) && !strings.ContainsRune(fillers, top)) {
			top, topCount = r, counts[r]
		}
	}
	return strings.ContainsRune(fillers, top) && float64(topCount)/float64(len(runes)) > 0.6
}

func noPlaceholder(value string) bool { return !isPlaceholder(value) }

var (
	wordPart     = regexp.MustCompile(`[A-Za-z]+|\d+`)
	codeRef      = regexp.MustCompile(`\A[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\))?;?\z`)
	fileLike     = regexp.MustCompile(`(?i)(?:\A[~./\\]|\.(?:pem|p12|pfx|jks|key|crt|cer|json|ya?ml|txt|conf|cfg|ini|env|xml|keytab|der|pub)\z)`)
	consonantRun = regexp.MustCompile(`(?i)[b-df-hj-np-tv-xz]{6,}`)
	consonant4   = regexp.MustCompile(`(?i)[b-df-hj-np-tv-xz]{5,}`)
	segmentSplit = regexp.MustCompile(`[\s_\-.:/,]+`)
	callOrIndex  = regexp.MustCompile(`\A[A-Za-z_][\w.]*[\[(]`)
	fieldAssign  = regexp.MustCompile(`\A([A-Za-z][A-Za-z0-9_.\-]*)=[^=]`)
	hexOnly      = regexp.MustCompile(`\A[0-9a-fA-F\-]+\z`)
	pemLines     = regexp.MustCompile(`-----(?:BEGIN|END)[^-]*-----`)
)

func isVowel(c rune) bool { return strings.ContainsRune("aeiouAEIOU", c) }

func pronounceable(word string) bool {
	vowels, rare := 0, 0
	for _, c := range word {
		if isVowel(c) {
			vowels++
		}
		if strings.ContainsRune("jqxzkvwfJQXZKVWF", c) {
			rare++
		}
	}
	if vowels == 0 {
		return false
	}
	n := float64(len(word))
	if len(word) < 8 {
		return !consonant4.MatchString(word)
	}
	return float64(vowels)/n >= 0.25 && float64(rare)/n <= 0.2 && !consonantRun.MatchString(word)
}

func isUpper(s string) bool {
	hasLetter := false
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			hasLetter = true
		}
	}
	return hasLetter
}

func wordLike(word string) bool {
	if isUpper(word) {
		return (len(word) >= 2 && len(word) <= 6) || (len(word) > 6 && pronounceable(word))
	}
	return len(word) >= 2 && pronounceable(word)
}

// camelWords splits a run of ASCII letters as Python's `[A-Z]?[a-z]+|[A-Z]{1,8}(?![a-z])`
// findall does (RE2 has no look-ahead, so it is a small hand-written scanner).
func camelWords(run string) []string {
	var words []string
	i := 0
	isU := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	isL := func(c byte) bool { return c >= 'a' && c <= 'z' }
	for i < len(run) {
		// alternative 1: [A-Z]?[a-z]+
		j := i
		if isU(run[j]) {
			j++
		}
		k := j
		for k < len(run) && isL(run[k]) {
			k++
		}
		if k > j {
			words = append(words, run[i:k])
			i = k
			continue
		}
		// alternative 2: [A-Z]{1,8} not followed by [a-z] (backtracking to fewer capitals)
		n := 0
		for i+n < len(run) && n < 8 && isU(run[i+n]) {
			n++
		}
		matched := false
		for m := n; m >= 1; m-- {
			if i+m >= len(run) || !isL(run[i+m]) {
				words = append(words, run[i:i+m])
				i += m
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	return words
}

func isCodeRef(value string) bool {
	if !codeRef.MatchString(value) {
		return false
	}
	for _, part := range strings.Split(strings.TrimRight(value, ";)("), ".") {
		if len(wordPart.FindAllString(part, -1)) > 3 {
			return false
		}
	}
	return true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return s != ""
}

func looksLikeWords(value string) bool {
	for _, segment := range segmentSplit.Split(value, -1) {
		if segment == "" {
			continue
		}
		runs := wordPart.FindAllString(segment, -1)
		joined := strings.Join(runs, "")
		if len(segment) <= 4 && joined == segment {
			continue
		}
		if joined != segment {
			return false
		}
		if len(runs) > 2 {
			short := false
			for _, r := range runs {
				if isAlpha(r) && len(r) < 4 {
					short = true
				}
			}
			if len(segment) < 24 || short {
				return false
			}
		}
		for _, run := range runs {
			if allASCIIDigits(run) {
				limit := 4
				if len(runs) == 1 {
					limit = 12
				}
				if len(run) > limit {
					return false
				}
				continue
			}
			if isUpper(run) {
				if len(run) > 6 && !pronounceable(run) {
					return false
				}
				continue
			}
			words := camelWords(run)
			if strings.Join(words, "") != run {
				return false
			}
			good := 0
			for _, w := range words {
				if wordLike(w) {
					good += len(w)
				}
			}
			if float64(good) < 0.8*float64(len(run)) {
				return false
			}
		}
	}
	return true
}

func proseValue(value string) bool {
	if m := fieldAssign.FindStringSubmatchIndex(value); m != nil {
		name := value[m[2]:m[3]]
		if !(isAlpha(name) && len(name) <= 5) {
			return false
		}
		value = value[m[1]-1:]
	}
	return randomLooking(value)
}

func randomLooking(value string) bool {
	s := strings.Trim(value, "'\"`")
	if runeLen(s) < 8 || strings.ContainsRune("<{[$%", rune(s[0])) || strings.Contains(s, "://") {
		return false
	}
	hasAlpha := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			hasAlpha = true
			break
		}
	}
	if !hasAlpha && runeLen(s) < 20 {
		return false
	}
	threshold := 2.75
	if runeLen(s) < 16 {
		threshold = 2.5
	}
	if shannonEntropy(s) < threshold {
		return false
	}
	if isPlaceholder(s) || fileLike.MatchString(s) || isCodeRef(s) {
		return false
	}
	if callOrIndex.MatchString(s) {
		return false
	}
	return !looksLikeWords(s)
}

var inertWords = map[string]bool{"null": true, "none": true, "true": true, "false": true, "nil": true, "undefined": true, "empty": true, "required": true}

func passwordValue(value string) bool {
	s := strings.TrimSpace(value)
	if runeLen(s) < 3 || isPlaceholder(s) {
		return false
	}
	return !inertWords[strings.ToLower(s)]
}

var keyWordSet = func() map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(`password passwd secret token apikey api_key key value xxx string str int bool any
		object bytes secretstr optional fake foo bar baz default disable disabled enable enabled create ssl sql not
		no yes on off sequence passwords pwd get set pass test user username yyy pat`) {
		out[w] = true
	}
	return out
}()

func strongValue(value string) bool {
	s := strings.TrimSpace(value)
	hasAlnum := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) {
			hasAlnum = true
			break
		}
	}
	if keyWordSet[strings.ToLower(strings.Trim(s, ";,<>[]{}()"))] || !hasAlnum {
		return false
	}
	if !passwordValue(s) || (runeLen(s) < 4 && allASCIIDigits(s)) {
		return false
	}
	if isCodeRef(s) || callOrIndex.MatchString(s) || strings.HasPrefix(s, "$") {
		return false
	}
	if !strings.Contains(s, " ") && fileLike.MatchString(s) {
		return false
	}
	return !keyWordSet[strings.ToLower(s)]
}

var publicBlobPrefixes = []string{"AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh", "sha1-", "sha256-", "sha384-", "sha512-",
	"iVBORw0KGgo", "/9j/", "R0lGOD", "JVBERi0", "UEsDB", "H4sI"}

// vendorPrefixes is filled from the catalogue at load time (validators.py _vendor_prefixes).
var vendorPrefixes []string

func highEntropyToken(value string) bool {
	if runeLen(value) < 44 || hexOnly.MatchString(value) || isPlaceholder(value) {
		return false
	}
	for _, p := range publicBlobPrefixes {
		if strings.HasPrefix(value, p) {
			return false
		}
	}
	lowered := strings.ToLower(value)
	for _, p := range vendorPrefixes {
		if strings.HasPrefix(lowered, p) {
			return false
		}
	}
	if !strings.ContainsAny(value, "0123456789") || !strings.ContainsFunc(value, unicode.IsLetter) {
		return false
	}
	if looksLikeWords(value) {
		return false
	}
	return shannonEntropy(value) >= 4.0
}

func base64JWT(value string) bool {
	padded := value + strings.Repeat("=", (4-len(value)%4)%4)
	decoded, err := base64.StdEncoding.DecodeString(padded)
	if err != nil {
		// Python's b64decode(validate=False) drops characters outside the alphabet
		cleaned := strings.Map(func(r rune) rune {
			if (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '+' || r == '/' {
				return r
			}
			return -1
		}, value)
		cleaned += strings.Repeat("=", (4-len(cleaned)%4)%4)
		if decoded, err = base64.StdEncoding.DecodeString(cleaned); err != nil {
			return false
		}
	}
	return strings.HasPrefix(string(decoded), "eyJ") && strings.Contains(string(decoded), ".")
}

func pemBody(value string) bool {
	return runeLen(strings.TrimSpace(pemLines.ReplaceAllString(value, ""))) >= 16
}

func jwtShape(value string) bool {
	if !strings.HasPrefix(value, "eyJ") {
		return !isPlaceholder(value)
	}
	header, _, _ := strings.Cut(value, ".")
	decoded, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(header, "="))
	if err != nil {
		return false
	}
	var parsed any
	if json.Unmarshal(decoded, &parsed) != nil {
		return false
	}
	_, isObject := parsed.(map[string]any)
	return isObject
}

// setVendorPrefixes: literal prefixes (keywords of 4+ characters ending in a separator, or long
// alphanumeric ones) of the vendor-token detectors, and "sk-".
func setVendorPrefixes(spec *catalogueSpec) {
	var out []string
	for _, d := range spec.Detectors {
		if d.Category != "secrets" || d.Group == "generic" {
			continue
		}
		for _, k := range d.Keywords {
			last := k[len(k)-1]
			alnum := true
			for i := 0; i < len(k); i++ {
				c := k[i]
				if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
					alnum = false
				}
			}
			if len(k) >= 4 && (strings.ContainsRune("-_.", rune(last)) || (alnum && len(k) >= 6)) {
				out = append(out, k)
			}
		}
	}
	vendorPrefixes = append(out, "sk-")
}
