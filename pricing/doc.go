// Package pricing holds what LLM tokens cost: a Price per model (US
// dollars per million prompt and completion tokens), a Table of them with
// built-in list prices, and the cost of a call. Workflows import it to turn
// the token counts and prices recorded in activity results into dollars.
package pricing
