package charttest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// codecServer returns the codec server's Deployment, or nil.
func codecServer(t *testing.T, docs []Document) *appsv1.Deployment {
	t.Helper()
	var found *appsv1.Deployment
	for _, d := range docs {
		if dep, ok := d.Object.(*appsv1.Deployment); ok && dep.Spec.Template.Labels["app.kubernetes.io/component"] == "codec-server" {
			if found != nil {
				t.Fatal("two codec-server Deployments")
			}
			found = dep
		}
	}
	return found
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func mount(c corev1.Container, name string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// wantSecretFile checks that the pod mounts key of Secret secret read-only
// as dir/file.
func wantSecretFile(t *testing.T, spec corev1.PodSpec, c corev1.Container, vol, secret, key, dir, file string) {
	t.Helper()
	v := volume(spec, vol)
	if v == nil || v.Secret == nil || v.Secret.SecretName != secret {
		t.Errorf("%s: volume %s is not Secret %s: %+v", c.Name, vol, secret, v)
		return
	}
	if len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != key || v.Secret.Items[0].Path != file {
		t.Errorf("%s: volume %s items %+v, want %s -> %s", c.Name, vol, v.Secret.Items, key, file)
	}
	if m := mount(c, vol); m == nil || m.MountPath != dir || !m.ReadOnly {
		t.Errorf("%s: mount of %s = %+v, want read-only at %s", c.Name, vol, m, dir)
	}
}

func TestEncryptionOff(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h)
	c := container(t, worker(t, docs, "cpu"))
	if _, ok := envOf(c, "GENIUS_ENCRYPTION_KEY_FILE"); ok {
		t.Error("GENIUS_ENCRYPTION_KEY_FILE set without encryption.existingSecret")
	}
	if codecServer(t, docs) != nil {
		t.Error("codec server rendered by default")
	}
}

func TestEncryptionAndCodecServer(t *testing.T) {
	h := newHelm(t)
	docs := render(t, h, "-f", allOptionsFile)
	for _, kind := range []string{"cpu", "gpu"} {
		dep := worker(t, docs, kind)
		c := container(t, dep)
		wantEnv(t, c, "GENIUS_ENCRYPTION_KEY_FILE", "/etc/genius/keys/keys")
		wantSecretFile(t, dep.Spec.Template.Spec, c, "encryption-keys", "genius-encryption", "keys", "/etc/genius/keys", "keys")
	}

	cs := codecServer(t, docs)
	if cs == nil {
		t.Fatal("no codec-server Deployment with encryption.codecServer.enabled")
	}
	if cs.Spec.Replicas == nil || *cs.Spec.Replicas != 2 {
		t.Errorf("codec server replicas %v, want 2", cs.Spec.Replicas)
	}
	spec := cs.Spec.Template.Spec
	c := spec.Containers[0]
	wantArgs := []string{"codec-server", "--listen", ":8088", "--cors-origin", "https://temporal-ui.example.com", "--cors-origin", "http://localhost:8233"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("codec server args %q, want %q", c.Args, wantArgs)
	}
	wantEnv(t, c, "GENIUS_ENCRYPTION_KEY_FILE", "/etc/genius/keys/keys")
	wantEnv(t, c, "GENIUS_CODEC_AUTH_TOKEN_FILE", "/etc/genius/codec-token/token")
	wantSecretFile(t, spec, c, "encryption-keys", "genius-encryption", "keys", "/etc/genius/keys", "keys")
	wantSecretFile(t, spec, c, "codec-token", "genius-codec-token", "token", "/etc/genius/codec-token", "token")
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("codec server readiness probe %+v", p)
	}
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("codec server root filesystem is writable")
	}
	var svc *corev1.Service
	for _, s := range byKind[*corev1.Service](docs) {
		if s.Labels["app.kubernetes.io/component"] == "codec-server" {
			svc = s
		}
	}
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8088 || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Fatalf("codec server Service %+v", svc)
	}
	// The token and the keys reach the pods as files, never as values.
	for _, e := range c.Env {
		if strings.Contains(strings.ToUpper(e.Name), "TOKEN") && !strings.HasSuffix(e.Name, "_FILE") {
			t.Errorf("env %s carries a token", e.Name)
		}
	}
	if err := CheckReferences(docs); err != nil {
		t.Error(err)
	}

	// Without a token Secret, no token file.
	docs = render(t, h, "--set", "encryption.existingSecret=k,encryption.codecServer.enabled=true")
	c = codecServer(t, docs).Spec.Template.Spec.Containers[0]
	if _, ok := envOf(c, "GENIUS_CODEC_AUTH_TOKEN_FILE"); ok || mount(c, "codec-token") != nil {
		t.Error("token file set up without encryption.codecServer.authToken.existingSecret")
	}
	wantEnv(t, c, "GENIUS_ENCRYPTION_KEY_FILE", "/etc/genius/encryption/keys")

	notes, err := h.Notes(testContext(t), chartDir, "--set", "encryption.existingSecret=k,encryption.codecServer.enabled=true,encryption.codecServer.authToken.existingSecret=tok")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--encryption-key-file", "port-forward svc/genius-codec-server 8081",
		"--codec-endpoint http://127.0.0.1:8081 --codec-auth"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
}

func TestEncryptionBadValues(t *testing.T) {
	h := newHelm(t)
	cases := []struct {
		name, values string
		want         []string
	}{
		{"codec server without keys", "encryption:\n  codecServer:\n    enabled: true\n", []string{"/encryption/existingSecret"}},
		{"origin with a path", "encryption:\n  existingSecret: k\n  codecServer:\n    corsOrigins: [\"https://ui.example.com/\"]\n", []string{"/encryption/codecServer/corsOrigins/0"}},
		{"literal key", "encryption:\n  key: c2VjcmV0\n", []string{"/encryption", "key"}},
		{"relative mount path", "encryption:\n  mountPath: keys\n", []string{"/encryption/mountPath"}},
	}
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, "bad-"+string(rune('a'+i))+".yaml")
			if err := os.WriteFile(f, []byte(tc.values), 0o644); err != nil {
				t.Fatal(err)
			}
			templateRejects(t, h, f, tc.values, tc.want)
		})
	}
}
