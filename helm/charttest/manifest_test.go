package charttest

import (
	"strings"
	"testing"
)

// A valid Deployment the cases below break one way each.
const goodDeployment = `# Source: genius/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: w
  labels: {app: w}
spec:
  replicas: 1
  selector:
    matchLabels: {app: w}
  template:
    metadata:
      labels: {app: w}
    spec:
      containers:
        - name: worker
          image: genius:1
          ports:
            - name: health
              containerPort: 8080
          livenessProbe:
            httpGet: {path: /healthz, port: health}
          resources:
            requests: {memory: 1Gi}
            limits: {memory: 2Gi}
          volumeMounts:
            - name: data
              mountPath: /data
      volumes:
        - name: data
          emptyDir: {}
`

func TestDecodeStrict(t *testing.T) {
	cases := []struct {
		name    string
		replace [2]string // in goodDeployment
		doc     string    // instead of goodDeployment
		want    string    // "" for no error
	}{
		{name: "valid"},
		{name: "unknown field", replace: [2]string{"  replicas: 1", "  replica: 1"}, want: `unknown field "spec.replica"`},
		{name: "miscased field", replace: [2]string{"  replicas: 1", "  Replicas: 1"}, want: `unknown field "spec.Replicas"`},
		{name: "duplicate field", replace: [2]string{"  replicas: 1", "  replicas: 1\n  replicas: 2"}, want: `key "replicas" already set`},
		{name: "wrong type", replace: [2]string{"  replicas: 1", "  replicas: one"}, want: "replicas"},
		{name: "misplaced field", replace: [2]string{"      containers:", "      tolerations: []\n      nodeSelectors: {}\n      containers:"}, want: `unknown field "spec.template.spec.nodeSelectors"`},
		{name: "bad quantity", replace: [2]string{"{memory: 2Gi}", "{memory: 2GB}"}, want: "quantities must match"},
		{name: "request above limit", replace: [2]string{"{memory: 1Gi}", "{memory: 4Gi}"}, want: "requests more memory"},
		{name: "mount without volume", replace: [2]string{"- name: data\n              mountPath", "- name: dta\n              mountPath"}, want: `volume "dta"`},
		{name: "probe on unknown port", replace: [2]string{"port: health}", "port: healthz}"}, want: `port "healthz"`},
		{name: "bad name", replace: [2]string{"  name: w\n", "  name: W_1\n"}, want: "metadata.name"},
		{name: "bad label", replace: [2]string{"labels: {app: w}\nspec:\n  replicas", "labels: {app: \"w w\"}\nspec:\n  replicas"}, want: "label app="},
		{name: "unknown kind", doc: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", want: "not one charttest knows"},
		{name: "scaledobject int metadata", doc: `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s}
spec:
  scaleTargetRef: {name: w}
  triggers:
    - type: temporal
      metadata: {endpoint: "t:7233", taskQueue: q, targetQueueSize: 2}
`, want: "metadata of type string"},
		{name: "scaledobject bad queue type", doc: `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s}
spec:
  scaleTargetRef: {name: w}
  triggers:
    - type: temporal
      metadata: {endpoint: "t:7233", taskQueue: q, queueTypes: "activity,workflows"}
`, want: `"workflows" is not one of`},
		{name: "scaledobject without queue", doc: `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s}
spec:
  scaleTargetRef: {name: w}
  triggers:
    - type: temporal
      metadata: {endpoint: "t:7233"}
`, want: "metadata.taskQueue is required"},
		{name: "scaledobject misspelt field", doc: `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s}
spec:
  scaleTargetRef: {name: w}
  cooldownPeriods: 10
  triggers:
    - type: temporal
      metadata: {endpoint: "t:7233", taskQueue: q}
`, want: `unknown field "spec.cooldownPeriods"`},
		{name: "servicemonitor timeout above interval", doc: `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: m}
spec:
  selector: {matchLabels: {app: w}}
  endpoints:
    - {port: metrics, interval: 10s, scrapeTimeout: 30s}
`, want: "longer than interval"},
		{name: "trigger auth unknown parameter", doc: `apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: a}
spec:
  secretTargetRef:
    - {parameter: apikey, name: s, key: k}
`, want: `parameter "apikey"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if doc == "" {
				doc = goodDeployment
				if tc.replace[0] != "" {
					if !strings.Contains(doc, tc.replace[0]) {
						t.Fatalf("case does not apply: %q not in the document", tc.replace[0])
					}
					doc = strings.Replace(doc, tc.replace[0], tc.replace[1], 1)
				}
			}
			_, err := DecodeStrict([]byte(doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted; want an error about %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParseSplitsAndNamesSources(t *testing.T) {
	stream := "---\n# Source: genius/templates/a.yaml\n" + goodDeployment + "\n---\n# empty\n---\n" +
		"# Source: genius/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s}\n"
	docs, err := Parse([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].ID() != "Deployment/w" || docs[1].ID() != "ServiceAccount/s" {
		t.Fatalf("docs = %+v", docs)
	}
	if docs[1].Source != "genius/templates/sa.yaml" {
		t.Errorf("source = %q", docs[1].Source)
	}
	bad := strings.Replace(stream, "kind: ServiceAccount\nmetadata: {name: s}", "kind: ServiceAccount\nmetadata: {name: s}\nsecrets: 3", 1)
	if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "genius/templates/sa.yaml") {
		t.Errorf("error %v does not name the bad document's template", err)
	}
}

func parseAll(t *testing.T, stream string) []Document {
	t.Helper()
	docs, err := Parse([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestCheckSecrets(t *testing.T) {
	withEnv := func(env string) string {
		return strings.Replace(goodDeployment, "          ports:", env+"          ports:", 1)
	}
	secretVol := strings.Replace(goodDeployment, "        - name: data\n          emptyDir: {}",
		"        - name: data\n          emptyDir: {}\n        - name: tls\n          secret: {secretName: t}", 1)
	secretVol = strings.Replace(secretVol, "              mountPath: /data\n",
		"              mountPath: /data\n            - name: tls\n              mountPath: /etc/tls\n", 1)
	cases := []struct {
		name, stream, want string
	}{
		{"plain value", withEnv("          env:\n            - {name: GENIUS_TASK_QUEUE, value: genius}\n"), ""},
		{"secret ref", withEnv("          env:\n            - name: OPENAI_API_KEY\n              valueFrom: {secretKeyRef: {name: s, key: k}}\n"), ""},
		{"literal key", withEnv("          env:\n            - {name: OPENAI_API_KEY, value: sk-123}\n"), "OPENAI_API_KEY: literal value"},
		{"lower-case name", withEnv("          env:\n            - {name: db_password, value: x}\n"), "db_password: literal value"},
		{"configmap ref", withEnv("          env:\n            - name: AWS_SECRET_ACCESS_KEY\n              valueFrom: {configMapKeyRef: {name: c, key: k}}\n"), "must come from valueFrom.secretKeyRef"},
		{"ref without key", withEnv("          env:\n            - name: X\n              valueFrom: {secretKeyRef: {name: s, key: \"\"}}\n"), "needs both name and key"},
		{"rendered secret", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n", "renders a Secret"},
		{"secret-looking configmap key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {api_token: x}\n", `"api_token"`},
		{"key file path outside a secret volume", withEnv("          env:\n            - {name: TEMPORAL_TLS_KEY, value: /data/tls.key}\n"), "TEMPORAL_TLS_KEY: literal value"},
		{"key file path in a secret volume", strings.Replace(secretVol, "          ports:", "          env:\n            - {name: TEMPORAL_TLS_KEY, value: /etc/tls/tls.key}\n          ports:", 1), ""},
		{"secret volume dir itself", strings.Replace(secretVol, "          ports:", "          env:\n            - {name: TEMPORAL_TLS_KEY, value: /etc/tls}\n          ports:", 1), "literal value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSecrets(parseAll(t, tc.stream))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}

func TestCheckReferences(t *testing.T) {
	service := func(selector, targetPort string) string {
		return "---\napiVersion: v1\nkind: Service\nmetadata: {name: w-metrics, labels: {app: w}}\nspec:\n  selector: {" + selector +
			"}\n  ports:\n    - {name: metrics, port: 9090, targetPort: " + targetPort + "}\n"
	}
	hpa := func(target string) string {
		return "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: " +
			target + "}\n  minReplicas: 1\n  maxReplicas: 2\n"
	}
	noReplicas := strings.Replace(goodDeployment, "  replicas: 1\n", "", 1)
	cases := []struct {
		name, stream, want string
	}{
		{"service ok", goodDeployment + service("app: w", "health"), ""},
		{"service selects nothing", goodDeployment + service("app: x", "health"), "matches no rendered pods"},
		{"service port missing", goodDeployment + service("app: w", "metrics"), `targetPort "metrics"`},
		{"selector misses pods", strings.Replace(goodDeployment, "    matchLabels: {app: w}", "    matchLabels: {app: v}", 1), "does not match its pod labels"},
		{"hpa ok", noReplicas + hpa("w"), ""},
		{"hpa on missing deployment", noReplicas + hpa("v"), `Deployment "v", which is not rendered`},
		{"hpa fights replicas", goodDeployment + hpa("w"), "sets replicas while"},
		{"two autoscalers", noReplicas + hpa("w") + strings.Replace(hpa("w"), "name: h}", "name: h2}", 1), "both scale Deployment w"},
		{"scaledobject without its auth", noReplicas + "---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n  triggers:\n    - type: temporal\n      metadata: {endpoint: \"t:1\", taskQueue: q}\n      authenticationRef: {name: auth}\n", `authenticationRef "auth"`},
		{"servicemonitor port missing", goodDeployment + service("app: w", "health") + "---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\nspec:\n  selector: {matchLabels: {app: w}}\n  endpoints: [{port: http}]\n", `endpoint port "http"`},
		{"pdb selects nothing", goodDeployment + "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: x}}\n", "matches no rendered pods"},
		{"foreign service account", strings.Replace(goodDeployment, "      containers:", "      serviceAccountName: other\n      containers:", 1) + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: mine}\n", `serviceAccountName "other"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckReferences(parseAll(t, tc.stream))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}
