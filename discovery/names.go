package discovery

import (
	"strconv"
	"strings"
)

// zeroconf hands instance names to github.com/miekg/dns in its text form,
// where some characters are special: a display name such as "Office (2)"
// or "Zoé's office" must be escaped going out, and the names that come
// back, which miekg/dns prints escaped, unescaped. Without this the
// numbered names DNS-SD needs on a conflict would not round-trip.

// escapeLabel writes one DNS label in miekg/dns's text form: the bytes it
// escapes when it prints a name get a backslash, unprintable ones \DDD.
func escapeLabel(label string) string {
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case strings.IndexByte(`.();@ "\`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteString(`\` + threeDigits(c))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func threeDigits(c byte) string {
	s := strconv.Itoa(int(c))
	return strings.Repeat("0", 3-len(s)) + s
}

// unescapeLabel reads a label printed by miekg/dns back into its bytes.
func unescapeLabel(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '\\' || i+1 == len(text) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(text) && isDigit(text[i+1]) && isDigit(text[i+2]) && isDigit(text[i+3]) {
			if n, err := strconv.Atoi(text[i+1 : i+4]); err == nil && n < 256 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(text[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
