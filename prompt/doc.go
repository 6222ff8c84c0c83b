// Package prompt writes the text GENIUS sends to the LLM: the system line,
// the problem encoding of each search space (layers, operators, channels,
// strides, constraints, answer format) with the results measured so far,
// and the follow-up messages of a growing chat.
//
// The texts are text/template files embedded from templates/<space>/:
//
//	system.tmpl      the system message (executed once, with no history)
//	task.tmpl        a fresh problem statement; with Data.History it lists
//	                 every past experiment and asks for a better one (the
//	                 paper's table-benchmark mode: a new chat per iteration)
//	feedback.tmpl    one follow-up message in a growing chat, reporting the
//	                 last result (the paper's NAS-Bench-201 mode)
//	constraint.tmpl  (mobilenetv2-imagenet) tells the model its proposal
//	                 is outside the FLOPs window and asks for another
//
// A user can replace any of them from a directory (a spec's prompt_dir):
// Load looks for <dir>/<space>/<name> first, then <dir>/<name>, and falls
// back to the embedded file. Templates are parsed and test-executed by Load,
// so a bad template fails when a search is submitted, with the file named.
//
// Templates see a View (Data plus Last and Space) and these functions:
//
//	acc x          accuracy with 2 decimals, rounded half-up ("85.70")
//	mflops x       millions of FLOPs with 2 decimals ("329.41")
//	m4 x           4 decimals, for the per-slot FLOPs table
//	list xs        integers as "[1, 0, 2]"
//	add a b        a+b for integers
//	dataset s def  a display name for a dataset id, def when s is empty
//	channels       the channel choices per position (channel spaces)
//	stages         the ImageNet stages (space.ImageNetStages)
//	ops            the ImageNet inverted-residual operators 1..6
//	best           the best experiment of the history
//	require v what stops with an error naming what when v is empty
package prompt
