// Package space holds the search spaces GENIUS explores: how an architecture
// is encoded, validated, sampled, mutated, keyed and written for an LLM, and
// how an LLM's free-text reply is turned back into an architecture.
//
// An architecture is an Arch: one choice index (0-based) per position. Each
// space decides what the indices mean (an operator, a width multiple, a cell
// edge operation) and how they are shown to a model (Format) and read back
// from its reply (Parse).
//
// The spaces (New, Names):
//
//	nas-bench-macro          8 layers × 3 ops; Key "10100100"; Canonical moves
//	                         identity layers after each stage's first to the
//	                         end of the stage (the table's own deduplication)
//	channel-bench-resnet     7 positions × 4 widths; Arch i means multiple i+1;
//	channel-bench-mobilenet  Key "4344424" (multiples); Format and Parse use
//	                         channel numbers "[256, 192, ...]"
//	nas-bench-201            6 edges × 5 ops; Key is the cell string
//	                         "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"; Parse takes
//	                         op IDs, op names or cell strings
//	mobilenetv2-imagenet     5 stages × 6 slots × 7 ops; Key = Canonical, five
//	                         digit groups "110000-111100-..." with each stage's
//	                         removed slots (op 0 in slots 1..5) moved last;
//	                         Format writes "Stage k (Layer a to Layer b): [..]"
//
// For every space Decode(Key(a)) builds a's network, Decode(Canonical(a)) is
// the representative of a's group, Neighbours lists all single-position
// changes (positions ascending, then values ascending; callers dedupe by
// Canonical), and Sample is uniform over the positions' choices.
//
// Reading replies needs no human; the rule (reply.go) in short: the last
// list of the right length wins, a list inside a ``` code fence before any
// outside; then bare comma-separated runs; then a reply that is only a key.
// Failures are *ParseError or *ValidationError, both Correctors whose
// Correction() is the text to send back to the model. IsGiveUp spots a model
// saying it cannot improve further.
//
// ImageNetStages, ImageNetOp and ImageNetLayers describe the ImageNet
// network for the FLOPs counter and the training engine.
package space
