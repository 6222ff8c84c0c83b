// Package chat holds the messages of an LLM conversation: plain data, with
// no client behind it, so workflows can keep a conversation in their
// history without importing the HTTP client of package llm.
package chat
