package history

import (
	"encoding/json"
	"fmt"

	"github.com/genius-nas/genius/workflows"
)

// transferLine prints a GeniusTransfer result in a line: what was
// fine-tuned on what, and its test accuracy or, for a detector, its twelve
// COCO stats.
func (p *printer) transferLine(raw json.RawMessage) bool {
	var r workflows.TransferResult
	if json.Unmarshal(raw, &r) != nil || r.CheckpointRun == "" {
		return false
	}
	if c := r.COCO; c != nil {
		// The reference's summary order and names, as fractions.
		size := "1333x800 (the default)"
		if m := r.MaxSize; m != [2]int{} {
			size = fmt.Sprintf("%dx%d", m[0], m[1])
		}
		p.f("RetinaNet on %s from %s: AP %.3f, AP50 %.3f, AP75 %.3f, APs %.3f, APm %.3f, APl %.3f, AR1 %.3f, AR10 %.3f, AR100 %.3f, ARs %.3f, ARm %.3f, ARl %.3f (epoch %d of %d, %d steps), images fit to %s, best checkpoint %s",
			r.Dataset, r.FromCheckpoint, c.AP, c.AP50, c.AP75, c.APs, c.APm, c.APl, c.AR1, c.AR10, c.AR100, c.ARs, c.ARm, c.ARl,
			r.BestEpoch, len(r.Epochs), r.Steps, size, r.BestCheckpoint)
	} else {
		p.f("%s fine-tuned from %s at %dpx: top-1 %.2f%%, top-5 %.2f%% (epoch %d of %d, %d steps), best checkpoint %s",
			r.Dataset, r.FromCheckpoint, r.Input, 100*r.Top1, 100*r.Top5, r.BestEpoch, len(r.Epochs), r.Steps, r.BestCheckpoint)
	}
	if len(r.Resumes) > 0 {
		p.f(", resumed %d time(s)", len(r.Resumes))
	}
	return true
}

// transferResult prints a GeniusTransfer's result.
func (p *printer) transferResult(t *Trail) {
	p.f("result: ")
	if !p.transferLine(t.Result) {
		p.f("%s", compact(t.Result))
	}
	p.f("\n")
}
