package llm

// ParseRetryAfter exposes parseRetryAfter to the tests.
var ParseRetryAfter = parseRetryAfter
