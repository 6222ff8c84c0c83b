package trainact

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/transfer"
)

// Checkpoints written before the recipe was shared must still be found and
// accepted: a proxy training's are named by a hash of its input's JSON, and
// a retraining resumes only from a checkpoint whose configuration JSON is
// byte-equal to its own. The expected values were produced by the code
// from before the change.

// TestProxyCheckpointNamesUnchanged pins the checkpoint folders of proxy
// inputs as older workers named them.
func TestProxyCheckpointNamesUnchanged(t *testing.T) {
	split := int64(7)
	for _, tc := range []struct {
		in   activities.ProxyTrainInput
		want string
	}{
		{activities.ProxyTrainInput{Space: "mobilenetv2-imagenet", Arch: []int{1, 2, 3}, Seed: 7003, SplitSeed: &split},
			"proxy/mobilenetv2-imagenet-d31e6ccaf68b88f1/"},
		{activities.ProxyTrainInput{Space: "nas-bench-macro", Arch: []int{1, 0}, Data: activities.DataSpec{Dir: "/d", Format: "cifar10"},
			Classes: 10, Input: 32, Recipe: recipe.Recipe{Epochs: 2, Steps: 5, Batch: 64, MicroBatch: 16, LR: 0.1, Momentum: 0.8, WeightDecay: 5e-4},
			ValFraction: 0.1, Seed: -3},
			"proxy/nas-bench-macro-4a992d6361d406f6/"},
	} {
		if got := checkpointPrefix(proxyDefaults(tc.in)); got != tc.want {
			t.Errorf("%+v: checkpoints under %s, older workers wrote them under %s", tc.in, got, tc.want)
		}
	}
	// A recipe field older inputs could not carry names other checkpoints.
	in := activities.ProxyTrainInput{Space: "mobilenetv2-imagenet", Arch: []int{1, 2, 3}, Seed: 7003, SplitSeed: &split}
	in.Nesterov = true
	if got := checkpointPrefix(proxyDefaults(in)); got == "proxy/mobilenetv2-imagenet-d31e6ccaf68b88f1/" {
		t.Error("Nesterov momentum shares the checkpoints of classical momentum")
	}
}

// TestRetrainConfigUnchanged pins the engine configuration (as checkpoints
// store it) of the ready classification specs and of a minimal spec
// without momentum or dropout (0.9 and none, as before).
func TestRetrainConfigUnchanged(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"retrain/cpu-demo", `{"space":"mobilenetv2-imagenet","arch":[1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0],"classes":10,"input":32,"epochs":4,"batch":8,"lr":0.1,"momentum":0.9,"nesterov":true,"weight_decay":0.00004,"label_smoothing":0.1,"warmup_epochs":1,"ema_decay":0.9,"ema_interval":1,"dropout":0.2,"crop_fraction":1,"seed":1}`},
		{"retrain/paper", `{"space":"mobilenetv2-imagenet","arch":[1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0],"classes":1000,"input":224,"epochs":500,"batch":2048,"lr":0.8,"momentum":0.9,"nesterov":true,"weight_decay":0.00004,"label_smoothing":0.1,"warmup_epochs":5,"ema_decay":0.9999,"ema_interval":1,"dropout":0.2,"randaugment_n":2,"randaugment_m":9,"random_erasing":0.2,"seed":1}`},
		{"transfer/cifar10", `{"space":"mobilenetv2-imagenet","arch":[1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0],"input":224,"epochs":50,"batch":128,"lr":0.01,"momentum":0.9,"nesterov":true,"weight_decay":0.00001,"label_smoothing":0.1,"warmup_epochs":1,"ema_interval":1,"dropout":0.2,"crop_fraction":1,"seed":1}`},
		{"transfer/cifar100", `{"space":"mobilenetv2-imagenet","arch":[1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0],"input":224,"epochs":50,"batch":128,"lr":0.01,"momentum":0.9,"nesterov":true,"weight_decay":0.00001,"label_smoothing":0.1,"warmup_epochs":1,"ema_interval":1,"dropout":0.2,"crop_fraction":1,"seed":1}`},
		{"transfer/cpu-demo", `{"space":"mobilenetv2-imagenet","arch":[1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0],"input":32,"epochs":3,"batch":16,"lr":0.05,"momentum":0.9,"nesterov":true,"weight_decay":0.00001,"warmup_epochs":0.5,"ema_interval":1,"dropout":-1,"crop_fraction":1,"seed":1}`},
	} {
		dir, name, _ := strings.Cut(tc.spec, "/")
		var s retrain.Spec
		var err error
		if dir == "retrain" {
			s, err = retrain.Ready(name)
		} else {
			s, err = transfer.Ready(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(retrainConfig(s.WithDefaults()).WithDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s trains with\n%s\nits older checkpoints hold\n%s", tc.spec, got, tc.want)
		}
	}
	s, err := retrain.Parse([]byte(`{"space":"nas-bench-macro","arch":[1,0,1,0,0,1,0,0],"data":{"format":"cifar10","dir":"/d"},"epochs":1,"batch":8,"lr":0.1}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := retrainConfig(s).WithDefaults()
	got, _ := json.Marshal(cfg)
	const want = `{"space":"nas-bench-macro","arch":[1,0,1,0,0,1,0,0],"input":224,"epochs":1,"batch":8,"lr":0.1,"momentum":0.9,"ema_interval":1,"dropout":-1,"crop_fraction":1}`
	if string(got) != want || cfg.MomentumRate() != 0.9 || cfg.DropoutRate() != 0 {
		t.Errorf("a spec without momentum or dropout trains with %s, want %s (momentum 0.9, no dropout)", got, want)
	}
}
