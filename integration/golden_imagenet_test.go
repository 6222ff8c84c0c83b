package integration

import (
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/workers"
)

// recordImageNetGolden records the ready imagenet-300m search (the paper's
// window, FLOPs in whole millions) with an LLM that proposes the paper's
// boundary cases, and a GPU worker that proxy-trains each candidate for two
// steps on random images: a 330.6 M design goes back as 331 M, a 330.2 M
// one is accepted, then GENIUS-329.
func recordImageNetGolden(t *testing.T, c client.Client) {
	img, err := space.New(space.ImageNetName)
	if err != nil {
		t.Fatal(err)
	}
	at330_6 := space.Arch{1, 0, 0, 0, 1, 0, 2, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	at330_2 := space.Arch{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 2, 0, 4, 3, 0, 0, 4, 4, 0, 4, 4, 0, 4, 0, 5, 5, 5, 0}
	genius329 := space.Arch{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	s := llmtest.New(t,
		llmtest.Reply(img.Format(at330_6)),
		llmtest.Reply("Then trim stage 3:\n"+img.Format(at330_2)),
		llmtest.Reply(img.Format(genius329)),
	)
	q := queue(t) + "-imagenet"
	startWorker(t, c, q, llm.Config{APIKey: goldenKey, BaseURL: s.URL})
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := workers.NewGPUWorker(c, workers.Config{TaskQueue: q + "-gpu"}, &workers.Training{Store: st, Proxy: &trainact.TrainingActivities{Store: st, LoaderWorkers: 1}, Retrain: &trainact.RetrainActivities{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	if err := gpu.Start(); err != nil {
		t.Fatal(err)
	}
	defer gpu.Stop()
	id := "golden-search-imagenet-300m"
	r := runCLISearch(t, q, id, specFile(t, "imagenet-300m.json", func(m map[string]any) {
		m["iterations"] = 2
		m["seed"] = 1
		ev := m["evaluator"].(map[string]any)
		ev["task_queue"] = q + "-gpu"
		ev["train"] = map[string]any{"classes": 10, "input": 32, "steps": 2, "batch": 8, "lr": 0.05, "timeout_m": 30}
	}))
	if len(r.Iterations) != 2 || !slicesEqual(r.Iterations[0].Arch, at330_2) || len(r.Iterations[0].Rejected) != 1 ||
		r.Iterations[0].Rejected[0].Outcome != activities.OutcomeFLOPsAbove || !slicesEqual(r.Iterations[1].Arch, genius329) {
		t.Fatalf("imagenet golden run: %+v", r)
	}
	exportRuns(t, c, "search-imagenet-300m", id)
}

func slicesEqual(a []int, b space.Arch) bool { return space.Arch(a).Equal(b) }
