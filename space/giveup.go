package space

import (
	"regexp"
	"strings"
)

// giveUpPatterns are the wordings with which a model says it has nothing
// better to offer. They are deliberately narrow: a false positive would end
// a search early, a false negative only costs one more (correctable) turn.
var giveUpPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(i|we)\s+(cannot|can not|can't|am unable to|are unable to|am not able to|are not able to|could not|couldn't|can no longer)\s+(further\s+)?(improve|suggest a better|propose a better|find a better|recommend a better|come up with a better)`),
	regexp.MustCompile(`\b(cannot|can not|can't|could not|couldn't)\s+be\s+(further\s+)?improved\b`),
	regexp.MustCompile(`\bno\s+further\s+improvements?\s+(is|are|seems?|appears?)?\s*(possible|achievable|likely|to be (made|found|expected))`),
	regexp.MustCompile(`\bthere\s+(is|are)\s+no\s+(further\s+)?improvements?\s+(left|possible|to be made)`),
	regexp.MustCompile(`\bi\s+(believe|think|am confident)\s+(that\s+)?(this|it|that|the\s+(current|previous|last|best)\s+\w+)\s+is\s+(already\s+)?(the\s+)?optimal\b`),
	regexp.MustCompile(`(\b(this|that)(\s+\w+){0,2}|\bit|\bthe\s+(current|previous|last|best)(\s+\w+){0,2}|\])\s+(is|are)\s+already\s+(the\s+)?(optimal|best possible)\b`),
}

// conditionalRE marks a clause that only supposes a give-up ("if this
// cannot be improved, try ...").
var conditionalRE = regexp.MustCompile(`\b(if|unless|whether|in case|even if|suppose)\b[^.!?\n]*$`)

// IsGiveUp reports whether a reply says the model cannot improve on the
// results so far ("I cannot improve on this", "no further improvement is
// possible", "I believe this is optimal"). It looks at wording only:
// callers should try Parse first and treat a give-up as final only when the
// reply holds no new architecture.
func IsGiveUp(reply string) bool {
	text := strings.ToLower(replacer.Replace(reply))
	text = strings.Join(strings.Fields(text), " ")
	for _, re := range giveUpPatterns {
		for _, m := range re.FindAllStringIndex(text, -1) {
			if negatedOrConditional(text[:m[0]]) {
				continue
			}
			return true
		}
	}
	return false
}

// negatedOrConditional looks at the sentence before a match.
func negatedOrConditional(before string) bool {
	if i := strings.LastIndexAny(before, ".!?\n"); i >= 0 {
		before = before[i+1:]
	}
	if conditionalRE.MatchString(before) {
		return true
	}
	t := strings.TrimSpace(before)
	return strings.HasSuffix(t, "not sure") || strings.HasSuffix(t, "don't think") ||
		strings.HasSuffix(t, "do not think") || strings.HasSuffix(t, "not that")
}
