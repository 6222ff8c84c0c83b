package prompt

import (
	"math"
	"strconv"
	"strings"
)

// FormatAccuracy writes an accuracy (in percent) with two decimals, rounded
// half-up on its shortest decimal form: 85.705 gives "85.71", 85.7033 gives
// "85.70". That is how the paper shows table accuracies to the model.
func FormatAccuracy(x float64) string { return roundHalfUp(x, 2) }

// roundHalfUp rounds the shortest decimal representation of x (the digits
// strconv prints) to places decimals, ties away from zero. Working on the
// decimal string avoids binary artefacts: 1.005 is stored as 1.00499..., but
// it is written and meant as 1.005.
func roundHalfUp(x float64, places int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	s := strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	up := len(frac) > places && frac[places] >= '5'
	if len(frac) > places {
		frac = frac[:places]
	}
	frac += strings.Repeat("0", places-len(frac))
	d := []byte(intPart + frac)
	if up {
		i := len(d) - 1
		for ; i >= 0 && d[i] == '9'; i-- {
			d[i] = '0'
		}
		if i < 0 {
			d = append([]byte{'1'}, d...)
		} else {
			d[i]++
		}
	}
	out := string(d)
	if places > 0 {
		out = out[:len(out)-places] + "." + out[len(out)-places:]
	}
	if x < 0 && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}

// datasetName maps dataset ids used in specs to the names prompts show.
func datasetName(id, def string) string {
	switch strings.ToLower(strings.TrimSpace(id)) {
	case "":
		return def
	case "cifar10", "cifar-10":
		return "CIFAR-10"
	case "cifar100", "cifar-100":
		return "CIFAR-100"
	case "imagenet16-120", "imagenet16", "imagenet16_120":
		return "ImageNet16-120"
	case "imagenet", "imagenet-1k", "imagenet1k":
		return "ImageNet"
	}
	return id
}
