package optim

import "github.com/genius-nas/genius/training/nn"

// EMA keeps an exponential moving average of the weights and of the
// batch-norm running statistics (as timm's ModelEmaV2 does), updated every
// Interval steps: shadow = Decay*shadow + (1-Decay)*live.
type EMA struct {
	Decay    float64
	Interval int
	Params   [][]float32
	Buffers  [][]float32
}

// NewEMA starts the average at the current weights. interval < 1 means 1.
func NewEMA(params []*nn.Param, buffers []*nn.Buffer, decay float64, interval int) *EMA {
	if interval < 1 {
		interval = 1
	}
	e := &EMA{Decay: decay, Interval: interval}
	for _, p := range params {
		e.Params = append(e.Params, append([]float32(nil), p.W...))
	}
	for _, b := range buffers {
		e.Buffers = append(e.Buffers, append([]float32(nil), b.Data...))
	}
	return e
}

// Update folds the live weights in when step (1-based count of optimiser
// steps taken) is a multiple of Interval.
func (e *EMA) Update(step int, params []*nn.Param, buffers []*nn.Buffer) {
	if step%e.Interval != 0 {
		return
	}
	d := float32(e.Decay)
	for i, p := range params {
		s := e.Params[i]
		for j, w := range p.W {
			s[j] = d*s[j] + (1-d)*w
		}
	}
	for i, b := range buffers {
		s := e.Buffers[i]
		for j, w := range b.Data {
			s[j] = d*s[j] + (1-d)*w
		}
	}
}

// Swap exchanges the averaged and the live weights; call it before and
// after evaluating the averaged network.
func (e *EMA) Swap(params []*nn.Param, buffers []*nn.Buffer) {
	for i, p := range params {
		p.W, e.Params[i] = e.Params[i], p.W
	}
	for i, b := range buffers {
		b.Data, e.Buffers[i] = e.Buffers[i], b.Data
	}
}
