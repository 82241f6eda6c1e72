package importer

import "strings"

// Salesforce record Ids come in two forms: 15 characters, case-sensitive,
// and 18 characters, where the last three encode the case of the first 15
// so that case-insensitive tools keep them apart. The first 15 characters of
// the 18-character Id are the 15-character Id. Exports mix both (reports give
// 15, the API and Data Loader 18), so every Id is normalised to 18 characters
// before it is stored or looked up.

const sfSuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// sfID18 returns the 18-character form of a 15- or 18-character Salesforce Id,
// and false when s is neither (wrong length or characters).
func sfID18(s string) (string, bool) {
	switch len(s) {
	case 15:
	case 18:
		s15 := s[:15]
		if !sfAlnum(s15) {
			return "", false
		}
		suffix := sfSuffixBytes(s15)
		if string(suffix[:]) == s[15:] {
			return s, true // the common case: already canonical, no copy
		}
		// The suffix is case-insensitive by design; trust the first 15.
		if !strings.EqualFold(string(suffix[:]), s[15:]) {
			return "", false
		}
		return s15 + string(suffix[:]), true
	default:
		return "", false
	}
	if !sfAlnum(s) {
		return "", false
	}
	return s + sfSuffix(s), true
}

func sfSuffix(id15 string) string {
	b := sfSuffixBytes(id15)
	return string(b[:])
}

func sfSuffixBytes(id15 string) [3]byte {
	var out [3]byte
	for chunk := range 3 {
		n := 0
		for i := range 5 {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		out[chunk] = sfSuffixAlphabet[n]
	}
	return out
}

func sfAlnum(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
