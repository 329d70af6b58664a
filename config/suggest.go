package config

import "strings"

// suggest returns the known name closest to s, for "did you mean X?"
// hints: a name within Levenshtein distance 2 (the closest, then the first
// in list order), else one that s is a prefix of or that is a prefix of s
// (the shortest), else a case-insensitive match; "" when nothing is close.
func suggest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if k == s {
			continue
		}
		if d := levenshtein(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return best
	}
	if len(s) >= 3 {
		for _, k := range known {
			if k != s && len(k) >= 3 && (strings.HasPrefix(k, s) || strings.HasPrefix(s, k)) {
				if best == "" || len(k) < len(best) {
					best = k
				}
			}
		}
		if best != "" {
			return best
		}
	}
	for _, k := range known {
		if strings.EqualFold(k, s) {
			return k
		}
	}
	return ""
}

// levenshtein is the edit distance between a and b (bytes; keys are ASCII).
func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Long strings are never a typo of a field name.
		return 1 << 10
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
