package specs

import "testing"

func TestRetrainOptionValidation(t *testing.T) {
	tests := []struct {
		name, json, field, fix string
	}{
		{"ready for another space", `{"space":"nas-bench-macro","retrain":{"ready":"paper"}}`, "retrain.ready", "give retrain.spec with a recipe for nas-bench-macro"},
		{"unknown ready", `{"space":"mobilenetv2-imagenet","retrain":{"ready":"fast"}}`, "retrain.ready", "use one of cpu-demo, paper"},
		{"both", `{"space":"mobilenetv2-imagenet","retrain":{"ready":"paper","spec":{"epochs":1,"batch":1,"lr":1}}}`, "retrain", "give one"},
		{"neither", `{"space":"mobilenetv2-imagenet","retrain":{"wait":true}}`, "retrain", "set retrain.ready"},
		{"inline other space", `{"space":"mobilenetv2-imagenet","retrain":{"spec":{"space":"nas-bench-201","epochs":1,"batch":1,"lr":1}}}`, "retrain.spec.space", "set it to mobilenetv2-imagenet"},
		{"inline no epochs", `{"space":"mobilenetv2-imagenet","retrain":{"spec":{"batch":8,"lr":0.1}}}`, "retrain.spec.epochs", "positive number of epochs"},
		{"inline bad format", `{"space":"nas-bench-201","retrain":{"spec":{"epochs":1,"batch":8,"lr":0.1,"data":{"format":"tfrecord"}}}}`, "retrain.spec.data.format", "imagefolder, cifar10, cifar100 or coco"},
		{"inline unknown field", `{"space":"mobilenetv2-imagenet","retrain":{"spec":{"epoch":3}}}`, "epoch", "schema.json"},
		{"unknown option", `{"space":"mobilenetv2-imagenet","retrain":{"ready":"paper","await":true}}`, "await", "schema.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			if err == nil {
				t.Fatal("no error")
			}
			if !namesField(err, tt.field, tt.fix) {
				t.Errorf("error %q does not name field %q with fix %q", err, tt.field, tt.fix)
			}
		})
	}
}

func TestRetrainOptionResolves(t *testing.T) {
	s, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","retrain":{"ready":"paper","wait":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Retrain.Resolve(s.Space)
	if err != nil {
		t.Fatal(err)
	}
	if r.Epochs != 500 || r.Batch != 2048 || r.Space != s.Space || !s.Retrain.Wait {
		t.Errorf("paper resolved to %+v", r)
	}
	// An inline recipe may leave out space and arch: the search fills them.
	s, err = Parse([]byte(`{"space":"nas-bench-201","dataset":"cifar10","retrain":{"spec":{"epochs":2,"batch":8,"lr":0.1,"input":32,"data":{"format":"cifar10"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err = s.Retrain.Resolve(s.Space)
	if err != nil {
		t.Fatal(err)
	}
	if r.Space != "nas-bench-201" || r.TaskQueue != "genius-gpu" || r.ChunkEpochs != 1 || s.Retrain.Spec.Space != "" {
		t.Errorf("inline resolved to %+v (given %+v)", r, s.Retrain.Spec)
	}
}
