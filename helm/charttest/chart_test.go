package charttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/testenv"
)

const (
	chartDir       = "../genius"
	allOptionsFile = "../genius/ci/all-options-values.yaml"
)

// newHelm finds helm or skips; under CI=true a missing helm fails.
func newHelm(t *testing.T) Helm {
	t.Helper()
	bin, err := FindHelm(".")
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	return Helm{Bin: bin, Home: t.TempDir()}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// render runs helm template with args and decodes the result strictly.
func render(t *testing.T, h Helm, args ...string) []Document {
	t.Helper()
	out, err := h.Template(testContext(t), chartDir, args...)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Parse(out)
	if err != nil {
		t.Fatalf("strict decode of helm template %v:\n%v", args, err)
	}
	return docs
}

// worker returns the Deployment of one worker kind ("cpu" or "gpu").
func worker(t *testing.T, docs []Document, kind string) *appsv1.Deployment {
	t.Helper()
	var found *appsv1.Deployment
	for _, d := range docs {
		if dep, ok := d.Object.(*appsv1.Deployment); ok && dep.Spec.Template.Labels["app.kubernetes.io/component"] == kind+"-worker" {
			if found != nil {
				t.Fatalf("two %s worker Deployments", kind)
			}
			found = dep
		}
	}
	if found == nil {
		t.Fatalf("no %s worker Deployment rendered", kind)
	}
	return found
}

func hasWorker(docs []Document, kind string) bool {
	for _, d := range docs {
		if dep, ok := d.Object.(*appsv1.Deployment); ok && dep.Spec.Template.Labels["app.kubernetes.io/component"] == kind+"-worker" {
			return true
		}
	}
	return false
}

func byKind[T any](docs []Document) []T {
	var out []T
	for _, d := range docs {
		if o, ok := d.Object.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

func container(t *testing.T, dep *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == "worker" {
			return c
		}
	}
	t.Fatalf("%s has no worker container", dep.Name)
	return corev1.Container{}
}

func envOf(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func wantEnv(t *testing.T, c corev1.Container, name, want string) {
	t.Helper()
	e, ok := envOf(c, name)
	if !ok {
		t.Errorf("env %s missing", name)
		return
	}
	if e.Value != want {
		t.Errorf("env %s = %q, want %q", name, e.Value, want)
	}
}

func wantSecretEnv(t *testing.T, c corev1.Container, name, secret, key string) {
	t.Helper()
	e, ok := envOf(c, name)
	if !ok {
		t.Errorf("env %s missing", name)
		return
	}
	if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Errorf("env %s is not a secretKeyRef: %+v", name, e)
		return
	}
	if r := e.ValueFrom.SecretKeyRef; r.Name != secret || r.Key != key {
		t.Errorf("env %s from Secret %s key %s, want %s key %s", name, r.Name, r.Key, secret, key)
	}
}

func TestLint(t *testing.T) {
	h := newHelm(t)
	for _, args := range [][]string{nil, {"-f", allOptionsFile}} {
		if out, err := h.Lint(testContext(t), chartDir, args...); err != nil {
			t.Errorf("helm lint %v: %v\n%s", args, err, out)
		}
	}
}

// Every values combination here must render manifests that decode strictly
// and hang together, with secrets only from Secret references.
func TestTemplateValid(t *testing.T) {
	h := newHelm(t)
	cases := []struct {
		name string
		args []string
	}{
		{"defaults", nil},
		{"all options", []string{"-f", allOptionsFile}},
		{"gpu on, defaults", []string{"--set", "gpu.enabled=true"}},
		{"gpu only", []string{"--set", "gpu.enabled=true,cpu.enabled=false"}},
		{"keda both, api key only", []string{"--set", "gpu.enabled=true,cpu.autoscaling.enabled=true,gpu.autoscaling.enabled=true,temporal.apiKey.existingSecret=tk"}},
		{"hpa gpu, existing claim", []string{"--set", "gpu.enabled=true,gpu.autoscaling.enabled=true,gpu.autoscaling.kind=hpa,gpu.autoscaling.minReplicas=1,dataDir.type=existingClaim,dataDir.existingClaim=tables"}},
		{"server-only tls, no metrics", []string{"--set", "temporal.tls.enabled=true,temporal.tls.existingSecret=ca,temporal.tls.certKey=,temporal.tls.keyKey=,metrics.enabled=false"}},
		{"api key with system roots", []string{"--set", "temporal.apiKey.existingSecret=k,temporal.tls.serverName=ns.tmprl.cloud"}},
		{"external service account, s3 by IRSA", []string{"--set", "serviceAccount.create=false,serviceAccount.name=genius-irsa,checkpoints.store=s3,checkpoints.s3.bucket=b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := render(t, h, tc.args...)
			if len(docs) == 0 {
				t.Fatal("nothing rendered")
			}
			if err := CheckReferences(docs); err != nil {
				t.Error(err)
			}
			if err := CheckSecrets(docs); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h)
	if hasWorker(docs, "gpu") {
		t.Error("GPU worker rendered by default; it should wait for gpu.enabled=true")
	}
	cpu := worker(t, docs, "cpu")
	c := container(t, cpu)
	wantEnv(t, c, "GENIUS_WORKER_KIND", "cpu")
	wantEnv(t, c, "GENIUS_TASK_QUEUE", "genius")
	wantEnv(t, c, "GENIUS_HEALTH_ADDR", ":8080")
	wantEnv(t, c, "GENIUS_METRICS_ADDR", ":9090")
	wantEnv(t, c, "GENIUS_DATA_DIR", "/data")
	wantEnv(t, c, "GENIUS_CHECKPOINT_STORE", "file:///data/checkpoints")
	wantEnv(t, c, "TEMPORAL_NAMESPACE", "default")
	for _, name := range []string{"OPENAI_API_KEY", "TEMPORAL_API_KEY", "AWS_ACCESS_KEY_ID", "TEMPORAL_TLS_CERT"} {
		if _, ok := envOf(c, name); ok {
			t.Errorf("env %s set without its Secret in values", name)
		}
	}
	if cpu.Spec.Replicas == nil || *cpu.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", cpu.Spec.Replicas)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.StrVal != "health" {
		t.Errorf("liveness probe = %+v, want GET /healthz on port health", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe = %+v, want GET /readyz", p)
	}
	sc := cpu.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod does not require a non-root user")
	}
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("root filesystem is writable")
	}
	if len(byKind[*corev1.ServiceAccount](docs)) != 1 {
		t.Error("want one ServiceAccount")
	}
	for _, d := range docs {
		switch d.Object.(type) {
		case *ScaledObject, *TriggerAuthentication, *ServiceMonitor:
			t.Errorf("%s rendered by default; it needs a CRD the cluster may not have", d.ID())
		}
	}
}

func TestGPUWorker(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h, "-f", allOptionsFile)
	gpu := worker(t, docs, "gpu")
	spec := gpu.Spec.Template.Spec
	c := container(t, gpu)

	wantEnv(t, c, "GENIUS_WORKER_KIND", "gpu")
	wantEnv(t, c, "GENIUS_TASK_QUEUE", "genius-gpu")
	// gpusPerPod 2, maxConcurrentActivities 0: one training per GPU.
	wantEnv(t, c, "GENIUS_MAX_CONCURRENT_ACTIVITIES", "2")
	if got := c.Resources.Limits["nvidia.com/gpu"]; got.Cmp(resource.MustParse("2")) != 0 {
		t.Errorf("nvidia.com/gpu limit = %s, want 2", got.String())
	}
	if got := c.Resources.Limits[corev1.ResourceMemory]; got.Cmp(resource.MustParse("64Gi")) != 0 {
		t.Errorf("memory limit = %s, want 64Gi (values' limits kept beside the GPU)", got.String())
	}
	if !slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Key == "nvidia.com/gpu" && tol.Effect == corev1.TaintEffectNoSchedule
	}) {
		t.Errorf("tolerations %+v lack nvidia.com/gpu NoSchedule", spec.Tolerations)
	}
	if spec.NodeSelector["nvidia.com/gpu.present"] != "true" || spec.NodeSelector["nvidia.com/gpu.product"] == "" {
		t.Errorf("nodeSelector = %v", spec.NodeSelector)
	}
	if spec.RuntimeClassName == nil || *spec.RuntimeClassName != "nvidia" {
		t.Errorf("runtimeClassName = %v, want nvidia", spec.RuntimeClassName)
	}
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != 7200 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 7200", spec.TerminationGracePeriodSeconds)
	}
	if gpu.Spec.Strategy.RollingUpdate == nil || gpu.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 0 {
		t.Errorf("GPU rollout may surge: %+v", gpu.Spec.Strategy)
	}
	if gpu.Spec.Replicas != nil {
		t.Error("KEDA scales the GPU worker but the Deployment sets replicas")
	}
	// GPU pods never prompt the LLM: they get neither its key nor its URL.
	for _, name := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL"} {
		if _, ok := envOf(c, name); ok {
			t.Errorf("GPU worker gets %s", name)
		}
	}
	// They do get the checkpoint store and its credentials.
	wantEnv(t, c, "GENIUS_CHECKPOINT_STORE", "s3://genius-checkpoints/prod/searches")
	wantSecretEnv(t, c, "AWS_SECRET_ACCESS_KEY", "genius-s3", "secret-access-key")
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/dev/shm" }) {
		t.Error("no /dev/shm mount")
	}

	// Defaults: one GPU, one activity, the standard taints and labels.
	docs = render(t, h, "--set", "gpu.enabled=true")
	gpu = worker(t, docs, "gpu")
	c = container(t, gpu)
	wantEnv(t, c, "GENIUS_TASK_QUEUE", "genius-gpu")
	wantEnv(t, c, "GENIUS_MAX_CONCURRENT_ACTIVITIES", "1")
	if got := c.Resources.Limits["nvidia.com/gpu"]; got.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("default nvidia.com/gpu limit = %s, want 1", got.String())
	}
	if s := gpu.Spec.Template.Spec; s.RuntimeClassName == nil || len(s.Tolerations) == 0 || len(s.NodeSelector) == 0 ||
		s.TerminationGracePeriodSeconds == nil || *s.TerminationGracePeriodSeconds < 600 {
		t.Errorf("default GPU pod lacks runtimeClassName, tolerations, nodeSelector or a long grace period: %+v", s)
	}
}

// Each worker stops before the kubelet kills it (GENIUS_WORKER_STOP_TIMEOUT
// under terminationGracePeriodSeconds), and a GPU worker with an s3 store
// keeps its local checkpoints (GENIUS_CHECKPOINT_DIR) on a mounted emptyDir.
func TestStopTimeoutAndCheckpointDir(t *testing.T) {
	h := newHelm(t)
	cases := []struct {
		name     string
		args     []string
		stop     map[string]string // kind -> GENIUS_WORKER_STOP_TIMEOUT
		dir      string            // GPU GENIUS_CHECKPOINT_DIR; "" = unset
		dirLimit string
	}{
		{"all options", []string{"-f", allOptionsFile},
			map[string]string{"cpu": "60s", "gpu": "7140s"}, "/scratch/checkpoints", "50Gi"},
		{"gpu defaults, s3", []string{"--set", "gpu.enabled=true,checkpoints.store=s3,checkpoints.s3.bucket=b"},
			map[string]string{"cpu": "10s", "gpu": "3540s"}, "/var/lib/genius/checkpoints", "20Gi"},
		{"gpu, file store", []string{"--set", "gpu.enabled=true"},
			map[string]string{"gpu": "3540s"}, "", ""},
		{"short grace, no size limit", []string{"--set", "gpu.enabled=true,gpu.terminationGracePeriodSeconds=30,cpu.terminationGracePeriodSeconds=5,checkpoints.store=s3,checkpoints.s3.bucket=b,checkpoints.localDir.sizeLimit="},
			map[string]string{"cpu": "2s", "gpu": "10s"}, "/var/lib/genius/checkpoints", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := render(t, h, tc.args...)
			for kind, want := range tc.stop {
				dep := worker(t, docs, kind)
				c := container(t, dep)
				wantEnv(t, c, "GENIUS_WORKER_STOP_TIMEOUT", want)
				e, _ := envOf(c, "GENIUS_WORKER_STOP_TIMEOUT")
				d, err := time.ParseDuration(e.Value)
				if err != nil {
					t.Fatalf("%s: GENIUS_WORKER_STOP_TIMEOUT %q is not a Go duration: %v", kind, e.Value, err)
				}
				grace := dep.Spec.Template.Spec.TerminationGracePeriodSeconds
				if grace == nil || d <= 0 || d >= time.Duration(*grace)*time.Second {
					t.Errorf("%s: stop timeout %s not in (0, terminationGracePeriodSeconds %v)", kind, d, grace)
				}
				if kind == "cpu" {
					if _, ok := envOf(c, "GENIUS_CHECKPOINT_DIR"); ok {
						t.Error("CPU worker gets GENIUS_CHECKPOINT_DIR; it trains nothing")
					}
				}
			}

			gpu := worker(t, docs, "gpu")
			c := container(t, gpu)
			e, ok := envOf(c, "GENIUS_CHECKPOINT_DIR")
			if tc.dir == "" {
				if ok {
					t.Errorf("GENIUS_CHECKPOINT_DIR = %q with a file store, which keeps checkpoints itself", e.Value)
				}
				return
			}
			wantEnv(t, c, "GENIUS_CHECKPOINT_DIR", tc.dir)
			i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == tc.dir })
			if i < 0 {
				t.Fatalf("no volume mounted at GENIUS_CHECKPOINT_DIR %s: %+v", tc.dir, c.VolumeMounts)
			}
			if c.VolumeMounts[i].ReadOnly {
				t.Error("checkpoint directory mounted read-only")
			}
			vols := gpu.Spec.Template.Spec.Volumes
			j := slices.IndexFunc(vols, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
			if j < 0 || vols[j].EmptyDir == nil {
				t.Fatalf("checkpoint mount %q is not an emptyDir volume: %+v", c.VolumeMounts[i].Name, vols)
			}
			got := ""
			if l := vols[j].EmptyDir.SizeLimit; l != nil {
				got = l.String()
			}
			if got != tc.dirLimit {
				t.Errorf("checkpoint emptyDir sizeLimit = %q, want %q", got, tc.dirLimit)
			}
		})
	}
}

func TestCPUWorker(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h, "-f", allOptionsFile)
	cpu := worker(t, docs, "cpu")
	c := container(t, cpu)
	wantEnv(t, c, "GENIUS_WORKER_KIND", "cpu")
	wantEnv(t, c, "GENIUS_TASK_QUEUE", "genius")
	wantEnv(t, c, "GENIUS_MAX_CONCURRENT_ACTIVITIES", "50")
	wantEnv(t, c, "TEMPORAL_ADDRESS", "genius.a1b2c.tmprl.cloud:7233")
	wantEnv(t, c, "TEMPORAL_TLS_SERVER_NAME", "genius.a1b2c.tmprl.cloud")
	wantEnv(t, c, "TEMPORAL_TLS_KEY", "/etc/genius/temporal-tls/tls.key")
	wantEnv(t, c, "OPENAI_BASE_URL", "http://vllm.llm.svc.cluster.local:8000/v1")
	wantEnv(t, c, "GENIUS_S3_ENDPOINT", "http://minio.storage.svc.cluster.local:9000")
	wantEnv(t, c, "GENIUS_S3_REGION", "eu-west-1")
	wantEnv(t, c, "GENIUS_S3_PATH_STYLE", "true")
	wantEnv(t, c, "GENIUS_HEALTH_ADDR", ":8081")
	wantEnv(t, c, "GENIUS_METRICS_ADDR", ":9464")
	wantEnv(t, c, "GENIUS_DATA_DIR", "/var/lib/genius")
	wantSecretEnv(t, c, "OPENAI_API_KEY", "llm-api-key", "OPENAI_API_KEY")
	wantSecretEnv(t, c, "TEMPORAL_API_KEY", "temporal-api-key", "key")
	wantSecretEnv(t, c, "AWS_ACCESS_KEY_ID", "genius-s3", "access-key-id")
	wantSecretEnv(t, c, "HF_TOKEN", "hf-token", "token")
	if want := []string{"worker", "--namespace", "genius.a1b2c"}; !slices.Equal(c.Args, want) {
		t.Errorf("args = %v, want %v", c.Args, want)
	}
	if cpu.Spec.Template.Annotations["prometheus.io/port"] != "9464" {
		t.Errorf("pod annotations %v lack prometheus.io/port 9464", cpu.Spec.Template.Annotations)
	}
	var tlsVol *corev1.Volume
	for i, v := range cpu.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "temporal-client-tls" {
			tlsVol = &cpu.Spec.Template.Spec.Volumes[i]
		}
	}
	if tlsVol == nil || len(tlsVol.Secret.Items) != 3 {
		t.Errorf("TLS Secret volume = %+v, want temporal-client-tls with 3 items", tlsVol)
	}
	init := cpu.Spec.Template.Spec.InitContainers
	if len(init) != 1 || !slices.Equal(init[0].Args, []string{"data", "fetch"}) {
		t.Errorf("init containers = %+v, want one running `genius data fetch`", init)
	}
	sa := byKind[*corev1.ServiceAccount](docs)
	if len(sa) != 1 || sa[0].Name != "genius-workers" || sa[0].Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Errorf("ServiceAccount = %+v, want genius-workers with the IRSA role annotation", sa)
	}
	pvcs := byKind[*corev1.PersistentVolumeClaim](docs)
	if len(pvcs) != 1 || pvcs[0].Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("PVCs = %+v, want one ReadWriteMany claim", pvcs)
	}
}

func TestKEDA(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h, "-f", allOptionsFile)
	var so *ScaledObject
	for _, o := range byKind[*ScaledObject](docs) {
		if o.Spec.ScaleTargetRef.Name == worker(t, docs, "gpu").Name {
			so = o
		}
	}
	if so == nil {
		t.Fatal("no ScaledObject for the GPU worker")
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount != 0 || *so.Spec.MaxReplicaCount != 6 || *so.Spec.CooldownPeriod != 5400 {
		t.Errorf("replica range or cooldown: %+v", so.Spec)
	}
	if len(so.Spec.Triggers) != 2 {
		t.Fatalf("triggers = %+v, want temporal and prometheus", so.Spec.Triggers)
	}
	tr := so.Spec.Triggers[0]
	want := map[string]string{
		"endpoint": "genius.a1b2c.tmprl.cloud:7233", "namespace": "genius.a1b2c", "taskQueue": "genius-gpu",
		"queueTypes": "activity", "targetQueueSize": "2", "activationTargetQueueSize": "0",
		"tlsServerName": "genius.a1b2c.tmprl.cloud", "enableTLS": "true",
	}
	if tr.Type != "temporal" || fmt.Sprint(tr.Metadata) != fmt.Sprint(want) {
		t.Errorf("temporal trigger = %s %v, want %v", tr.Type, tr.Metadata, want)
	}
	if tr.AuthenticationRef == nil {
		t.Error("temporal trigger has no authenticationRef although the workers use an API key and mTLS")
	}
	if q := so.Spec.Triggers[1].Metadata["query"]; !strings.Contains(q, `task_queue="genius-gpu"`) {
		t.Errorf("running-activities query %q does not filter on the GPU queue", q)
	}
	// The scale-down policy that spares running trainings.
	b := so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior
	if b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds < 1800 ||
		len(b.ScaleDown.Policies) != 1 || b.ScaleDown.Policies[0].Value != 1 {
		t.Errorf("GPU scale-down behavior = %+v, want one pod at a time after a long window", b)
	}
	auths := byKind[*TriggerAuthentication](docs)
	if len(auths) != 1 {
		t.Fatalf("TriggerAuthentications = %d, want 1", len(auths))
	}
	got := map[string]string{}
	for _, r := range auths[0].Spec.SecretTargetRef {
		got[r.Parameter] = r.Name + "/" + r.Key
	}
	wantRefs := map[string]string{"apiKey": "temporal-api-key/key", "cert": "temporal-client-tls/tls.crt", "key": "temporal-client-tls/tls.key", "ca": "temporal-client-tls/ca.crt"}
	if fmt.Sprint(got) != fmt.Sprint(wantRefs) {
		t.Errorf("TriggerAuthentication refs = %v, want %v", got, wantRefs)
	}
}

// Every secret the values name reaches the pods, by reference.
func TestSecretsArriveByReference(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h, "-f", allOptionsFile)
	n := 0
	for _, d := range docs {
		dep, ok := d.Object.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					n++
				}
			}
		}
	}
	// CPU: TEMPORAL_API_KEY, OPENAI_API_KEY, two AWS keys, HF_TOKEN; GPU: TEMPORAL_API_KEY, two AWS keys.
	if n != 8 {
		t.Errorf("%d secretKeyRef env entries, want 8", n)
	}
}

// Bad values fail at install time with a message that names the value.
func TestBadValues(t *testing.T) {
	h := newHelm(t)
	cases := []struct {
		name   string
		values string
		want   []string
	}{
		{"replicas not a number", "gpu:\n  replicas: two\n", []string{"/gpu/replicas", "want integer"}},
		{"unknown top-level key", "gpuu:\n  enabled: true\n", []string{"additional properties", "gpuu"}},
		{"unknown component key", "cpu:\n  replica: 2\n", []string{"/cpu", "replica"}},
		{"literal LLM key", "llm:\n  apiKey: sk-live-123\n", []string{"/llm", "apiKey"}},
		{"bad autoscaler kind", "cpu:\n  autoscaling:\n    kind: vpa\n", []string{"/cpu/autoscaling/kind", "hpa", "keda"}},
		{"bad store", "checkpoints:\n  store: gcs\n", []string{"/checkpoints/store"}},
		{"tls without secret", "temporal:\n  tls:\n    enabled: true\n", []string{"/temporal/tls/existingSecret"}},
		{"s3 without bucket", "checkpoints:\n  store: s3\n", []string{"/checkpoints/s3/bucket"}},
		{"existing claim unnamed", "dataDir:\n  type: existingClaim\n", []string{"/dataDir/existingClaim"}},
		{"bad queue type", "gpu:\n  autoscaling:\n    keda:\n      queueTypes: [activities]\n", []string{"/gpu/autoscaling/keda/queueTypes/0"}},
		{"address without port", "temporal:\n  address: temporal.example.com\n", []string{"/temporal/address"}},
		{"literal secret in additionalEnv", "cpu:\n  additionalEnv:\n    - name: MY_API_KEY\n      value: hunter2\n",
			[]string{"cpu.additionalEnv[0] (MY_API_KEY)", "secretKeyRef"}},
		{"hpa to zero", "cpu:\n  autoscaling:\n    enabled: true\n    kind: hpa\n    minReplicas: 0\n", []string{"cpu.autoscaling.minReplicas", "at least 1"}},
		{"no worker", "cpu:\n  enabled: false\n", []string{"run no worker"}},
		{"checkpoint dir inside the data volume", "gpu:\n  enabled: true\ncheckpoints:\n  store: s3\n  s3:\n    bucket: b\n  localDir:\n    mountPath: /data/ckpt\n",
			[]string{"checkpoints.localDir.mountPath (/data/ckpt)", "dataDir.mountPath (/data) overlap"}},
		{"relative checkpoint dir", "checkpoints:\n  localDir:\n    mountPath: ckpt\n", []string{"/checkpoints/localDir/mountPath"}},
		{"client cert without key", "temporal:\n  tls:\n    enabled: true\n    existingSecret: t\n    keyKey: \"\"\n", []string{"certKey and temporal.tls.keyKey go together"}},
		{"tls without files", "temporal:\n  tls:\n    enabled: true\n    existingSecret: t\n    certKey: \"\"\n    keyKey: \"\"\n    caKey: \"\"\n", []string{"all empty"}},
	}
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, fmt.Sprintf("bad-%d.yaml", i))
			if err := os.WriteFile(f, []byte(tc.values), 0o644); err != nil {
				t.Fatal(err)
			}
			// The case must be valid YAML: the failure is the chart's.
			var v map[string]any
			if err := yaml.Unmarshal([]byte(tc.values), &v); err != nil {
				t.Fatal(err)
			}
			templateRejects(t, h, f, tc.values, tc.want)
		})
	}
}

// templateRejects checks that helm template fails on the values file f
// (holding values) with an error that mentions each of want.
func templateRejects(t *testing.T, h Helm, f, values string, want []string) {
	t.Helper()
	out, err := h.Template(testContext(t), chartDir, "-f", f)
	if err == nil {
		t.Fatalf("helm template accepted %q:\n%s", values, out)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestNotes(t *testing.T) {
	h := newHelm(t)
	notes, err := h.Notes(testContext(t), chartDir, "--set", "temporal.address=temporal.example:7233")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"temporal workflow start --address temporal.example:7233 --namespace default",
		"--task-queue genius --type GeniusSearch",
		"--input-file spec.json",
		"configmap genius-search-spec",
		"--name GeniusBestAccuracy --type Double",
		"--name GeniusLLMCostUSD --type Double",
		"gpu.enabled=true",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
}

// The spec the chart ships for NOTES must be a valid search spec with the
// chosen model, ready for --input-file.
func TestSearchSpecConfigMap(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h, "--set", `llm.model=my "model"`)
	cms := byKind[*corev1.ConfigMap](docs)
	if len(cms) != 1 {
		t.Fatalf("ConfigMaps = %d, want 1", len(cms))
	}
	spec, err := specs.Parse([]byte(cms[0].Data["nas-bench-macro.json"]))
	if err != nil {
		t.Fatalf("the chart's search spec does not parse: %v", err)
	}
	if spec.Space != "nas-bench-macro" || spec.Proposer.Model != `my "model"` {
		t.Errorf("spec = %+v", spec)
	}
}
